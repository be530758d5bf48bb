/* Native decode-and-normalize of 96x96 RGB 8-bit TIFF patches (hcd_edge._tiffdec).
 *
 * Everything here parses untrusted bytes: every offset, count and size is checked against the
 * bytes held before it is read, and no decompressor writes past the image it was sized for.
 * No function keeps global state; per-thread state lives in an hcd_ctx the caller owns.
 * None of these functions touch Python, so the binding calls them with the GIL released.
 */
#ifndef HCD_TIFFDEC_H
#define HCD_TIFFDEC_H

#include <stddef.h>
#include <stdint.h>

#define HCD_SIDE 96
#define HCD_PIXELS (HCD_SIDE * HCD_SIDE)
#define HCD_IMAGE_BYTES (HCD_PIXELS * 3)
/* A patch file is ~28 KB; anything this large is refused before it is read. Mirrors
 * hcd_edge/decode/reference.py MAX_PATCH_FILE_BYTES. */
#define HCD_MAX_FILE_BYTES (16u * 1024u * 1024u)

/* Status codes; the values are the ones in hcd_edge/decode/status.py (tests compare them). */
typedef enum {
    HCD_OK = 0,
    HCD_OPEN_FAILED = 1,
    HCD_NOT_A_FILE = 2,
    HCD_EMPTY_FILE = 3,
    HCD_READ_FAILED = 4,
    HCD_FILE_TOO_LARGE = 5,
    HCD_NOT_TIFF = 10,
    HCD_TRUNCATED = 11,
    HCD_BAD_IFD = 12,
    HCD_MISSING_TAG = 13,
    HCD_BAD_TAG = 14,
    HCD_WRONG_SIZE = 20,
    HCD_NOT_RGB = 21,
    HCD_NOT_8BIT = 22,
    HCD_UNSUPPORTED = 23,
    HCD_CORRUPT_DATA = 24,
    HCD_MISSING_DATA = 25,
    /* Internal: a valid-looking TIFF the native parser does not handle (tiled, JPEG, BigTIFF,
     * ...). The Python layer decodes it with tifffile; callers never see this value. */
    HCD_NEEDS_FALLBACK = 100,
    /* Internal: the native side could not allocate scratch memory. */
    HCD_NO_MEMORY = 101
} hcd_status;

/* Output row layouts. */
typedef enum {
    HCD_OUT_U8_HWC = 0,  /* uint8 (96, 96, 3): raw pixels */
    HCD_OUT_F32_CHW = 1, /* float32 (3, 96, 96): (pixel/255 - mean)/std per channel */
    HCD_OUT_F16_CHW = 2  /* float16 bits (3, 96, 96): the float32 value rounded to nearest even */
} hcd_out_kind;

/* Pixel kernels, slowest first. hcd_lut_init picks the fastest the CPU runs; all of them give
 * bit-identical output (tests compare each against HCD_KERNEL_SCALAR). */
typedef enum {
    HCD_KERNEL_SCALAR = 0,     /* portable C */
    HCD_KERNEL_SSE2 = 1,       /* x86-64 baseline: four lookups per 128-bit store */
    HCD_KERNEL_AVX512VBMI = 2, /* byte-table lookups with vpermi2b, 64 pixels per step */
    HCD_KERNEL_NEON = 3,       /* aarch64: byte-table lookups with TBL/TBX, 16 pixels per step */
    HCD_KERNEL_COUNT = 4
} hcd_kernel;

/* Per-channel lookup tables of the normalized value of each 8-bit level, plus the same values
 * split into byte planes for the byte-shuffle kernel. Read only once built; shared by threads. */
typedef struct {
    _Alignas(64) uint8_t f32_bytes[3][4][256]; /* byte k of f32[c][v] at [c][k][v] */
    _Alignas(64) uint8_t f16_bytes[3][2][256];
    /* Byte-shuffle kernel: per output kind (0 float32, 1 float16) and channel, which source byte
     * lands at each of 64 index lanes (from the first 128 bytes, then from the last 64). */
    _Alignas(64) uint8_t sel_lo[2][3][64];
    _Alignas(64) uint8_t sel_hi[2][3][64];
    uint64_t sel_hi_mask[2][3];
    float f32[3][256];
    uint16_t f16[3][256];
    int kernel;        /* an hcd_kernel the CPU supports */
    int stream_stores; /* nonzero: float rows are written with non-temporal stores */
} hcd_lut;

/* Per-thread reusable state: file buffer, image scratch and zlib stream. Owned by one thread. */
typedef struct hcd_ctx hcd_ctx;

/* Size in bytes of one output row of this kind (0 for an unknown kind). */
size_t hcd_row_bytes(hcd_out_kind kind);

/* Fill lut with ((float)v / 255.0f - mean[c]) / std[c] computed in float32, the same operations
 * numpy performs, so results are bit-identical; f16 holds those values rounded to even. Picks the
 * fastest supported kernel and regular stores; callers may lower kernel or set stream_stores. */
void hcd_lut_init(hcd_lut *lut, const float mean[3], const float std[3]);

/* Whether a batch of n rows of `kind` should bypass the caches (hcd_lut.stream_stores): yes when
 * the rows cannot stay in the cores' private caches anyway (pinned buffers the GPU reads by DMA,
 * large batches); the default of decode_batch. */
int hcd_stream_default(size_t n, hcd_out_kind kind);

/* Nonzero when this CPU (and OS) can run kernel k. */
int hcd_kernel_supported(hcd_kernel k);

/* IEEE binary32 -> binary16 bits, round to nearest even (numpy's astype(float16)). */
uint16_t hcd_f32_to_f16(float value);

/* A new context, or NULL when memory is exhausted. Free it with hcd_ctx_free. */
hcd_ctx *hcd_ctx_new(void);
void hcd_ctx_free(hcd_ctx *ctx);

/* Decode one TIFF held in buf[0:len] into one output row (row_bytes(kind) bytes at out).
 *
 * buf is only read. out receives the row on HCD_OK and zeros otherwise. lut may be NULL only
 * for HCD_OUT_U8_HWC. Returns an hcd_status.
 */
int hcd_decode_tiff(hcd_ctx *ctx, const uint8_t *buf, size_t len, void *out, hcd_out_kind kind,
                    const hcd_lut *lut);

/* Read the whole regular file at path into the context's buffer (open + fstat + read + close).
 * On HCD_OK *data and *len describe the bytes, valid until the next call on ctx. */
int hcd_read_file(hcd_ctx *ctx, const char *path, const uint8_t **data, size_t *len);

/* Read and decode one file into one output row; see hcd_decode_tiff. */
int hcd_decode_file(hcd_ctx *ctx, const char *path, void *out, hcd_out_kind kind,
                    const hcd_lut *lut);

/* Decode paths[0:n] into rows of out (n * row_bytes(kind) bytes) with `threads` workers.
 *
 * status[i] receives path i's hcd_status; failed rows are zeroed. Worker threads take the next
 * path index from a shared atomic counter. The calling thread is one of the workers; if threads
 * cannot be started the remaining work runs on fewer. Returns 0, or HCD_NO_MEMORY when not even
 * one context could be allocated (then every status is HCD_NO_MEMORY).
 */
int hcd_decode_batch(const char *const *paths, size_t n, void *out, hcd_out_kind kind,
                     const hcd_lut *lut, int threads, int32_t *status);

/* Normalize one in-memory patch into one output row (row_bytes(kind) bytes at out), as if it had
 * been decoded from a TIFF: 96 rows of 96 interleaved 8-bit RGB pixels, row y starting at
 * pixels + y * row_stride bytes (row_stride 288 for a contiguous patch; any other value, negative
 * included, for a patch cut from a larger image). Reads exactly 96 * 288 bytes of pixels, writes
 * only the row. lut may be NULL only for HCD_OUT_U8_HWC. Returns HCD_OK or HCD_UNSUPPORTED. */
int hcd_normalize_patch(hcd_ctx *ctx, const uint8_t *pixels, ptrdiff_t row_stride, void *out,
                        hcd_out_kind kind, const hcd_lut *lut);

/* Normalize patches[0:n] (row strides row_strides[0:n], see hcd_normalize_patch) into rows of out
 * with up to `threads` workers (one per 32 patches at most) sharing an atomic index, as
 * hcd_decode_batch; status[i] receives patch i's status. Returns 0, or HCD_NO_MEMORY when not even one context could be allocated. */
int hcd_normalize_batch(const uint8_t *const *patches, const ptrdiff_t *row_strides, size_t n,
                        void *out, hcd_out_kind kind, const hcd_lut *lut, int threads,
                        int32_t *status);

/* The read floor: hcd_read_file over paths with `threads` workers, no parsing; status as above. */
int hcd_read_batch(const char *const *paths, size_t n, int threads, int32_t *status);

#endif
