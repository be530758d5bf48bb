# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Binding of the native TIFF decoder in csrc/; hcd_edge.decode is the public API over it.

Every function validates its arrays, then calls the C core with the GIL released. Output rows
are written straight into the caller's buffer (no copy), which may be any writable C-contiguous
numpy array, a view into a larger buffer or pinned host memory included.
"""

from libc.stdint cimport int32_t, uint8_t, uint16_t
from libc.stdlib cimport free, malloc
from libc.string cimport strlen

cimport numpy as cnp
import numpy as np

cnp.import_array()


cdef extern from "Python.h":
    object PyOS_FSPath(object path)
    bytes PyUnicode_EncodeFSDefault(object text)


cdef extern from "tiffdec.h" nogil:
    ctypedef enum hcd_out_kind:
        HCD_OUT_U8_HWC
        HCD_OUT_F32_CHW
        HCD_OUT_F16_CHW

    ctypedef enum hcd_kernel:
        HCD_KERNEL_SCALAR
        HCD_KERNEL_SSE2
        HCD_KERNEL_AVX512VBMI
        HCD_KERNEL_NEON
        HCD_KERNEL_COUNT

    ctypedef struct hcd_lut:
        float f32[3][256]
        uint16_t f16[3][256]
        int kernel
        int stream_stores

    ctypedef struct hcd_ctx:
        pass

    enum:
        HCD_NEEDS_FALLBACK
        HCD_NO_MEMORY
        HCD_IMAGE_BYTES
        HCD_MAX_FILE_BYTES

    size_t hcd_row_bytes(hcd_out_kind kind)
    int hcd_stream_default(size_t n, hcd_out_kind kind)
    int hcd_kernel_supported(hcd_kernel k)
    void hcd_lut_init(hcd_lut *lut, const float *mean, const float *std)
    uint16_t hcd_f32_to_f16(float value)
    hcd_ctx *hcd_ctx_new()
    void hcd_ctx_free(hcd_ctx *ctx)
    int hcd_decode_tiff(hcd_ctx *ctx, const uint8_t *buf, size_t len, void *out,
                        hcd_out_kind kind, const hcd_lut *lut)
    int hcd_decode_batch(const char *const *paths, size_t n, void *out, hcd_out_kind kind,
                         const hcd_lut *lut, int threads, int32_t *status)
    int hcd_read_batch(const char *const *paths, size_t n, int threads, int32_t *status)
    int hcd_normalize_batch(const uint8_t *const *patches, const Py_ssize_t *row_strides,
                            size_t n, void *out, hcd_out_kind kind, const hcd_lut *lut,
                            int threads, int32_t *status)


NEEDS_FALLBACK = HCD_NEEDS_FALLBACK
NO_MEMORY = HCD_NO_MEMORY
MAX_FILE_BYTES = HCD_MAX_FILE_BYTES

cdef uint8_t _EMPTY[1]

KERNELS = ("scalar", "sse2", "avx512vbmi", "neon")  # index = hcd_kernel


def supported_kernels():
    """Names of the pixel kernels this CPU runs, slowest first (the last is the default)."""
    return [KERNELS[k] for k in range(HCD_KERNEL_COUNT) if hcd_kernel_supported(<hcd_kernel>k)]


cdef hcd_out_kind _kind_of(cnp.ndarray out, Py_ssize_t rows) except *:
    """The row layout of out, after checking it can hold `rows` rows written in place."""
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out must be a writable C-contiguous array")
    if out.dtype == np.uint8:
        kind = HCD_OUT_U8_HWC
    elif out.dtype == np.float32:
        kind = HCD_OUT_F32_CHW
    elif out.dtype == np.float16:
        kind = HCD_OUT_F16_CHW
    else:
        raise ValueError(f"out dtype must be uint8, float32 or float16, got {out.dtype}")
    if out.nbytes < rows * <Py_ssize_t>hcd_row_bytes(kind):
        raise ValueError(f"out has {out.nbytes} bytes, {rows} rows need more")
    return kind


cdef void _fill_lut(hcd_lut *lut, mean, std, kernel=None, stream=None) except *:
    """Tables for mean/std; kernel (a KERNELS name) and stream (bool) override the defaults."""
    cdef float m[3]
    cdef float s[3]
    for c in range(3):
        m[c] = <float>float(mean[c])  # double -> float32 rounds as numpy's astype does
        s[c] = <float>float(std[c])
    hcd_lut_init(lut, m, s)
    if kernel is not None:
        k = KERNELS.index(kernel)
        if not hcd_kernel_supported(<hcd_kernel>k):
            raise ValueError(f"this CPU cannot run the {kernel} kernel")
        lut.kernel = k
    if stream is not None:
        lut.stream_stores = 1 if stream else 0


cdef const char **_path_array(paths, list keep) except NULL:
    """C strings for paths (str, bytes or os.PathLike), encoded as os.fsencode does.

    The bytes objects are appended to keep, which must outlive the array. A name holding NUL
    cannot name a file: its entry is NULL, which decodes with the open-failed status.
    """
    cdef Py_ssize_t n = len(paths)
    cdef const char **arr = <const char **>malloc(max(n, 1) * sizeof(char *))
    if arr == NULL:
        raise MemoryError("no memory for the path array")
    cdef bytes name
    cdef const char *text
    try:
        for i in range(n):
            p = PyOS_FSPath(paths[i])
            name = PyUnicode_EncodeFSDefault(p) if isinstance(p, str) else <bytes?>p
            keep.append(name)
            text = name
            arr[i] = text if strlen(text) == <size_t>len(name) else NULL
    except BaseException:
        free(arr)
        raise
    return arr


def decode_batch(paths, cnp.ndarray out, mean, std, int threads, kernel=None, stream=None):
    """Decode files into out[:len(paths)] with `threads` workers, GIL released.

    paths: a sequence of str, bytes or os.PathLike file names.
    out: C-contiguous (N,3,96,96) float32/float16 or (N,96,96,3) uint8, written in place.
    Returns int32 statuses; NEEDS_FALLBACK marks files the caller must decode with tifffile.
    kernel / stream override the pixel kernel and the non-temporal-store choice (for tests).
    """
    cdef Py_ssize_t n = len(paths)
    cdef hcd_out_kind kind = _kind_of(out, n)
    cdef hcd_lut lut
    _fill_lut(&lut, mean, std, kernel, hcd_stream_default(<size_t>n, kind) if stream is None else stream)
    status = np.zeros(n, dtype=np.int32)
    cdef int32_t[::1] st = status
    cdef int32_t *st_ptr = &st[0] if n > 0 else NULL
    cdef void *dst = cnp.PyArray_DATA(out)
    keep = []
    cdef const char **arr = _path_array(paths, keep)
    cdef int rc
    try:
        with nogil:
            rc = hcd_decode_batch(arr, <size_t>n, dst, kind, &lut, threads, st_ptr)
    finally:
        free(arr)
    if rc == HCD_NO_MEMORY:
        raise MemoryError("the native decoder could not allocate its per-thread buffers")
    return status


cdef Py_ssize_t _patch_rows(patches, list keep, const uint8_t **ptrs, Py_ssize_t *strides) except -1:
    """Fill ptrs/strides with each patch's first pixel and row stride; keep holds the arrays."""
    cdef cnp.ndarray arr
    cdef Py_ssize_t i, n = len(patches)
    cdef char *base
    if isinstance(patches, np.ndarray) and patches.ndim == 4:
        arr = patches
        _check_patch_layout(arr.dtype, (<object>arr).shape[1:], (<object>arr).strides[2:], "patches")
        keep.append(arr)
        base = <char *>cnp.PyArray_DATA(arr)
        for i in range(n):
            ptrs[i] = <const uint8_t *>(base + i * arr.strides[0])
            strides[i] = arr.strides[1]
        return n
    for i in range(n):
        arr = patches[i]
        _check_patch_layout(arr.dtype, (<object>arr).shape, (<object>arr).strides[1:],
                            f"patch {i}")
        keep.append(arr)
        ptrs[i] = <const uint8_t *>cnp.PyArray_DATA(arr)
        strides[i] = arr.strides[0]
    return n


def _check_patch_layout(dtype, tuple shape, tuple pixel_strides, what):
    if dtype != np.uint8 or tuple(shape) != (96, 96, 3) or tuple(pixel_strides) != (3, 1):
        raise ValueError(f"{what} must be uint8 (96, 96, 3) with interleaved RGB pixels "
                         f"(strides (any, 3, 1)), got {dtype} {shape} pixel strides {pixel_strides}")


def normalize_batch(patches, cnp.ndarray out, mean, std, int threads, kernel=None, stream=None):
    """Normalize in-memory uint8 RGB patches into out[:len(patches)], GIL released.

    patches: a (N, 96, 96, 3) uint8 array or a sequence of (96, 96, 3) uint8 arrays whose pixels
    are interleaved (strides (any, 3, 1)): row strides may be anything, so views cut from a
    larger region array need no copy. out: as decode_batch. Returns int32 statuses (all 0).
    """
    cdef Py_ssize_t n = len(patches)
    cdef hcd_out_kind kind = _kind_of(out, n)
    cdef hcd_lut lut
    _fill_lut(&lut, mean, std, kernel, hcd_stream_default(<size_t>n, kind) if stream is None else stream)
    status = np.zeros(n, dtype=np.int32)
    cdef int32_t[::1] st = status
    cdef int32_t *st_ptr = &st[0] if n > 0 else NULL
    cdef void *dst = cnp.PyArray_DATA(out)
    cdef const uint8_t **ptrs = <const uint8_t **>malloc(max(n, 1) * sizeof(uint8_t *))
    cdef Py_ssize_t *strides = <Py_ssize_t *>malloc(max(n, 1) * sizeof(Py_ssize_t))
    cdef int rc
    keep = []
    try:
        if ptrs == NULL or strides == NULL:
            raise MemoryError("no memory for the patch pointer array")
        _patch_rows(patches, keep, ptrs, strides)
        with nogil:
            rc = hcd_normalize_batch(ptrs, strides, <size_t>n, dst, kind, &lut, threads, st_ptr)
    finally:
        free(ptrs)
        free(strides)
    if rc == HCD_NO_MEMORY:
        raise MemoryError("the native decoder could not allocate its per-thread buffers")
    return status


def read_batch(paths, int threads):
    """The read floor: open + fstat + read + close of each file, no parsing; int32 statuses."""
    cdef Py_ssize_t n = len(paths)
    status = np.zeros(n, dtype=np.int32)
    cdef int32_t[::1] st = status
    cdef int32_t *st_ptr = &st[0] if n > 0 else NULL
    keep = []
    cdef const char **arr = _path_array(paths, keep)
    try:
        with nogil:
            hcd_read_batch(arr, <size_t>n, threads, st_ptr)
    finally:
        free(arr)
    return status


def decode_bytes(const uint8_t[::1] data, cnp.ndarray out_row, mean, std, kernel=None,
                 stream=None):
    """Decode one TIFF held in memory into out_row (one row of the decode_batch layout)."""
    cdef hcd_out_kind kind = _kind_of(out_row, 1)
    cdef hcd_lut lut
    _fill_lut(&lut, mean, std, kernel, stream)
    cdef size_t n = data.shape[0]
    cdef const uint8_t *src = &data[0] if n > 0 else _EMPTY
    cdef void *dst = cnp.PyArray_DATA(out_row)
    cdef hcd_ctx *ctx = hcd_ctx_new()
    if ctx == NULL:
        raise MemoryError("the native decoder could not allocate its buffers")
    cdef int rc
    with nogil:
        rc = hcd_decode_tiff(ctx, src, n, dst, kind, &lut)
        hcd_ctx_free(ctx)
    return rc


def lut_tables(mean, std):
    """The (3, 256) float32 and float16 lookup tables the kernels use (for tests)."""
    cdef hcd_lut lut
    _fill_lut(&lut, mean, std)
    f32 = np.empty((3, 256), dtype=np.float32)
    f16 = np.empty((3, 256), dtype=np.uint16)
    cdef float[:, ::1] a = f32
    cdef uint16_t[:, ::1] b = f16
    for c in range(3):
        for v in range(256):
            a[c, v] = lut.f32[c][v]
            b[c, v] = lut.f16[c][v]
    return f32, f16.view(np.float16)


def f32_to_f16(cnp.ndarray values):
    """float16 of each float32 in values by the native conversion (for tests)."""
    src = np.ascontiguousarray(values, dtype=np.float32).ravel()
    out = np.empty(src.shape[0], dtype=np.uint16)
    cdef const float[::1] s = src
    cdef uint16_t[::1] d = out
    cdef Py_ssize_t i
    with nogil:
        for i in range(s.shape[0]):
            d[i] = hcd_f32_to_f16(s[i])
    return out.view(np.float16).reshape(np.shape(values))
