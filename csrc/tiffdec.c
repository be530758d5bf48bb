/* One TIFF -> one output row: strip assembly over the parsed layout, and whole-file reads. */
#define _POSIX_C_SOURCE 200809L /* open flags and fstat under -std=c11 */
#include "tiffdec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codecs.h"
#include "normalize.h"
#include "tiff_ifd.h"

#define INITIAL_FILE_CAPACITY (64u * 1024u) /* holds any Kaggle patch without growing */

struct hcd_ctx {
    uint8_t *file;
    size_t file_cap;
    z_stream zs;
    int zs_ready;
    uint8_t image[HCD_IMAGE_BYTES]; /* decoded strips land here when they must be copied */
};

hcd_ctx *hcd_ctx_new(void) {
    hcd_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    ctx->file = malloc(INITIAL_FILE_CAPACITY);
    if (ctx->file == NULL) {
        free(ctx);
        return NULL;
    }
    ctx->file_cap = INITIAL_FILE_CAPACITY;
    return ctx;
}

void hcd_ctx_free(hcd_ctx *ctx) {
    if (ctx == NULL)
        return;
    if (ctx->zs_ready)
        inflateEnd(&ctx->zs);
    free(ctx->file);
    free(ctx);
}

/* One plane's strips: where they are and how their rows are laid out. */
typedef struct {
    const uint8_t *buf;
    size_t len;
    const hcd_layout *lay;
    size_t samples;   /* interleaved samples per pixel in a strip: 3 contiguous, 1 planar */
    size_t row_bytes; /* bytes of one decoded row of a strip */
    uint32_t strips;  /* strips per plane */
} plane_job;

static int strip_bounds(const plane_job *pj, uint32_t index, uint32_t *off, uint32_t *count) {
    *off = hcd_array_get(&pj->lay->offsets, pj->lay->big_endian, index);
    *count = hcd_array_get(&pj->lay->counts, pj->lay->big_endian, index);
    if (*off == 0 || *count == 0)
        return HCD_MISSING_DATA; /* a sparse strip: tifffile would fill it with zeros */
    if (*off > pj->len || *count > pj->len - *off)
        return HCD_TRUNCATED;
    return HCD_OK;
}

static size_t strip_rows(const hcd_layout *lay, uint32_t s) {
    size_t first = (size_t)s * lay->rows_per_strip;
    size_t left = HCD_SIDE - first;
    return left < lay->rows_per_strip ? left : lay->rows_per_strip;
}

static int inflate_strip(hcd_ctx *ctx, const uint8_t *src, size_t n, uint8_t *dst, size_t need) {
    if (!ctx->zs_ready) {
        memset(&ctx->zs, 0, sizeof ctx->zs);
        if (inflateInit(&ctx->zs) != Z_OK)
            return HCD_NO_MEMORY;
        ctx->zs_ready = 1;
    }
    return hcd_deflate_decode(&ctx->zs, src, n, dst, need);
}

static int decode_strip(hcd_ctx *ctx, const plane_job *pj, uint32_t index, uint32_t s,
                        uint8_t *dst) {
    uint32_t off, count;
    int st = strip_bounds(pj, index, &off, &count);
    if (st != HCD_OK)
        return st;
    size_t rows = strip_rows(pj->lay, s);
    size_t need = rows * pj->row_bytes;
    const uint8_t *src = pj->buf + off;
    switch (pj->lay->compression) {
    case HCD_COMPRESSION_NONE:
        if (count < need)
            return HCD_TRUNCATED;
        memcpy(dst, src, need);
        break;
    case HCD_COMPRESSION_PACKBITS: st = hcd_packbits_decode(src, count, dst, need); break;
    case HCD_COMPRESSION_LZW:
        st = hcd_lzw_is_old_style(src, count) ? HCD_NEEDS_FALLBACK
                                              : hcd_lzw_decode(src, count, dst, need);
        break;
    default: st = inflate_strip(ctx, src, count, dst, need); break;
    }
    if (st == HCD_OK && pj->lay->predictor == 2)
        hcd_unpredict(dst, rows, HCD_SIDE, pj->samples);
    return st;
}

/* Uncompressed, unpredicted strips that follow each other in the file are the plane itself. */
static int plane_in_place(const plane_job *pj, uint32_t first, const uint8_t **plane) {
    *plane = NULL;
    if (pj->lay->compression != HCD_COMPRESSION_NONE || pj->lay->predictor != 1)
        return HCD_OK;
    uint32_t base = 0;
    for (uint32_t s = 0; s < pj->strips; s++) {
        uint32_t off, count;
        int st = strip_bounds(pj, first + s, &off, &count);
        if (st != HCD_OK)
            return st;
        size_t start = (size_t)s * pj->lay->rows_per_strip * pj->row_bytes;
        if (count < strip_rows(pj->lay, s) * pj->row_bytes)
            return HCD_TRUNCATED;
        if (s == 0)
            base = off;
        else if ((size_t)off != (size_t)base + start)
            return HCD_OK;
    }
    *plane = pj->buf + base;
    return HCD_OK;
}

/* Point *plane at plane p's pixels: in the file buffer when possible, else in ctx->image. */
static int assemble_plane(hcd_ctx *ctx, const plane_job *pj, uint32_t p, const uint8_t **plane) {
    uint32_t first = p * pj->strips;
    int st = plane_in_place(pj, first, plane);
    if (st != HCD_OK || *plane != NULL)
        return st;
    uint8_t *dst = ctx->image + (size_t)p * HCD_SIDE * pj->row_bytes;
    for (uint32_t s = 0; s < pj->strips; s++) {
        size_t start = (size_t)s * pj->lay->rows_per_strip * pj->row_bytes;
        if ((st = decode_strip(ctx, pj, first + s, s, dst + start)) != HCD_OK)
            return st;
    }
    *plane = dst;
    return HCD_OK;
}

static int decode_pixels(hcd_ctx *ctx, const uint8_t *buf, size_t len, void *out,
                         hcd_out_kind kind, const hcd_lut *lut) {
    hcd_layout lay;
    int st = hcd_parse_ifd(buf, len, &lay);
    if (st != HCD_OK)
        return st;
    uint32_t planes = lay.planar == 2 ? 3 : 1;
    plane_job pj = {buf, len, &lay, planes == 3 ? 1 : 3, HCD_SIDE * (planes == 3 ? 1 : 3),
                    lay.strips / planes};
    const uint8_t *plane[3] = {NULL, NULL, NULL};
    for (uint32_t p = 0; p < planes; p++)
        if ((st = assemble_plane(ctx, &pj, p, &plane[p])) != HCD_OK)
            return st;
    if (planes == 3)
        hcd_emit_planar(plane, out, kind, lut);
    else
        hcd_emit_interleaved(plane[0], out, kind, lut);
    return HCD_OK;
}

int hcd_decode_tiff(hcd_ctx *ctx, const uint8_t *buf, size_t len, void *out, hcd_out_kind kind,
                    const hcd_lut *lut) {
    size_t row = hcd_row_bytes(kind);
    if (row == 0 || (lut == NULL && kind != HCD_OUT_U8_HWC))
        return HCD_UNSUPPORTED;
    int st = decode_pixels(ctx, buf, len, out, kind, lut);
    if (st != HCD_OK)
        memset(out, 0, row);
    return st;
}

int hcd_normalize_patch(hcd_ctx *ctx, const uint8_t *pixels, ptrdiff_t row_stride, void *out,
                        hcd_out_kind kind, const hcd_lut *lut) {
    const size_t line = HCD_SIDE * 3;
    if (hcd_row_bytes(kind) == 0 || (lut == NULL && kind != HCD_OUT_U8_HWC))
        return HCD_UNSUPPORTED;
    const uint8_t *src = pixels;
    if (row_stride != (ptrdiff_t)line) { /* gather the rows: the kernels read one 27,648-byte block */
        for (size_t y = 0; y < HCD_SIDE; y++)
            memcpy(ctx->image + y * line, pixels + (ptrdiff_t)y * row_stride, line);
        src = ctx->image;
    }
    hcd_emit_interleaved(src, out, kind, lut);
    return HCD_OK;
}

static int ensure_capacity(hcd_ctx *ctx, size_t size) {
    if (size <= ctx->file_cap)
        return HCD_OK;
    uint8_t *grown = malloc(size);
    if (grown == NULL)
        return HCD_NO_MEMORY;
    free(ctx->file);
    ctx->file = grown;
    ctx->file_cap = size;
    return HCD_OK;
}

static int read_all(int fd, uint8_t *dst, size_t size, size_t *got) {
    *got = 0;
    while (*got < size) {
        ssize_t n = read(fd, dst + *got, size - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return HCD_READ_FAILED;
        if (n == 0)
            break; /* the file shrank since fstat; what was read is parsed (and found short) */
        *got += (size_t)n;
    }
    return HCD_OK;
}

static int read_open_file(hcd_ctx *ctx, int fd, size_t *len) {
    struct stat st;
    if (fstat(fd, &st) != 0)
        return HCD_READ_FAILED;
    if (!S_ISREG(st.st_mode))
        return HCD_NOT_A_FILE;
    if (st.st_size == 0)
        return HCD_EMPTY_FILE;
    if ((uint64_t)st.st_size > HCD_MAX_FILE_BYTES)
        return HCD_FILE_TOO_LARGE;
    int rc = ensure_capacity(ctx, (size_t)st.st_size);
    if (rc == HCD_OK)
        rc = read_all(fd, ctx->file, (size_t)st.st_size, len);
    if (rc == HCD_OK && *len == 0)
        rc = HCD_EMPTY_FILE;
    return rc;
}

int hcd_read_file(hcd_ctx *ctx, const char *path, const uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    if (path == NULL)
        return HCD_OPEN_FAILED;
    /* O_NONBLOCK: opening a FIFO named like a patch must not hang the worker. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return HCD_OPEN_FAILED;
    int rc = read_open_file(ctx, fd, len);
    close(fd);
    if (rc == HCD_OK)
        *data = ctx->file;
    return rc;
}

int hcd_decode_file(hcd_ctx *ctx, const char *path, void *out, hcd_out_kind kind,
                    const hcd_lut *lut) {
    const uint8_t *data;
    size_t len;
    int st = hcd_read_file(ctx, path, &data, &len);
    if (st != HCD_OK) {
        memset(out, 0, hcd_row_bytes(kind));
        return st;
    }
    return hcd_decode_tiff(ctx, data, len, out, kind, lut);
}
