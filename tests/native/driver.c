/* Sanitizer driver for the C core: decodes each file given, prefixes of it, seeded mutations of
 * it, and then all files as one threaded batch. Built by tests/native/test_sanitizers.py with
 * -fsanitize=address,undefined; any report aborts the run. With -DHCD_LIBFUZZER the same
 * LLVMFuzzerTestOneInput serves clang's libFuzzer (clang -fsanitize=fuzzer,address). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tiffdec.h"

static const hcd_out_kind KINDS[3] = {HCD_OUT_U8_HWC, HCD_OUT_F32_CHW, HCD_OUT_F16_CHW};
static unsigned long decodes, decoded_ok;

/* Decode data[0:size] from an exact-size heap copy, so any read past the end hits a redzone. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const float mean[3] = {0.7f, 0.5f, 0.6f}, std[3] = {0.2f, 0.3f, 0.25f};
    hcd_lut lut;
    hcd_lut_init(&lut, mean, std);
    uint8_t *copy = malloc(size ? size : 1);
    hcd_ctx *ctx = hcd_ctx_new();
    if (copy == NULL || ctx == NULL)
        abort();
    memcpy(copy, data, size);
    for (int k = 0; k < 3; k++) {
        /* Every kernel this CPU runs, alternating regular and streaming stores. */
        for (int kernel = 0; kernel < HCD_KERNEL_COUNT; kernel++) {
            if (!hcd_kernel_supported((hcd_kernel)kernel) || (k == 0 && kernel > 0))
                continue;
            lut.kernel = kernel;
            lut.stream_stores = (int)(decodes & 1);
            void *row = aligned_alloc(64, hcd_row_bytes(KINDS[k]));
            if (row == NULL)
                abort();
            int st = hcd_decode_tiff(ctx, copy, size, row, KINDS[k], &lut);
            decodes++;
            decoded_ok += st == HCD_OK;
            free(row);
        }
    }
    /* The same bytes as an in-memory patch (normalize-from-memory), ending exactly at the end of
     * the heap copy so that a read past its last row hits the redzone. */
    if (size >= HCD_IMAGE_BYTES) {
        void *row = aligned_alloc(64, hcd_row_bytes(HCD_OUT_F32_CHW));
        if (row == NULL)
            abort();
        lut.kernel = HCD_KERNEL_SCALAR;
        for (int kernel = HCD_KERNEL_COUNT - 1; kernel >= 0; kernel--)
            if (hcd_kernel_supported((hcd_kernel)kernel)) {
                lut.kernel = kernel;
                break;
            }
        for (int k = 0; k < 3; k++)
            decoded_ok += hcd_normalize_patch(ctx, copy + size - HCD_IMAGE_BYTES, HCD_SIDE * 3,
                                              row, KINDS[k], &lut) == HCD_OK;
        free(row);
    }
    hcd_ctx_free(ctx);
    free(copy);
    return 0;
}

#ifndef HCD_LIBFUZZER
static uint8_t *read_whole(const char *path, size_t *len) {
    FILE *fh = fopen(path, "rb");
    if (fh == NULL)
        return NULL;
    uint8_t *buf = malloc(HCD_MAX_FILE_BYTES);
    *len = buf ? fread(buf, 1, HCD_MAX_FILE_BYTES, fh) : 0;
    fclose(fh);
    return buf;
}

static uint64_t next_random(uint64_t *state) { /* xorshift64 */
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static void mutate_and_decode(const uint8_t *data, size_t len, unsigned rounds, uint64_t *rng) {
    static const uint8_t interesting[] = {0, 1, 2, 3, 4, 7, 8, 0x10, 0x60, 0x7f, 0x80, 0xff};
    if (len == 0)
        return;
    uint8_t *work = malloc(len);
    if (work == NULL)
        abort();
    for (unsigned r = 0; r < rounds; r++) {
        memcpy(work, data, len);
        unsigned edits = 1 + (unsigned)(next_random(rng) % 8);
        /* Most edits land in the first 512 bytes, where the header and the IFD live. */
        for (unsigned e = 0; e < edits; e++) {
            uint64_t v = next_random(rng);
            size_t span = (v & 3) ? (len < 512 ? len : 512) : len;
            size_t at = (size_t)((v >> 8) % span);
            work[at] = (v & 16) ? interesting[(v >> 40) % sizeof interesting] : (uint8_t)(v >> 32);
        }
        LLVMFuzzerTestOneInput(work, len);
    }
    free(work);
}

static void prefixes(const uint8_t *data, size_t len) {
    for (size_t n = 0; n < len; n += (n < 600 ? 1 : 61))
        LLVMFuzzerTestOneInput(data, n);
}

static void batch(char **paths, int n) {
    for (int k = 0; k < 3; k++) {
        static const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
        hcd_lut lut;
        hcd_lut_init(&lut, mean, std);
        void *out = malloc((size_t)n * hcd_row_bytes(KINDS[k]) + 1);
        int32_t *status = malloc(sizeof(int32_t) * (size_t)n + 1);
        if (out == NULL || status == NULL)
            abort();
        hcd_decode_batch((const char *const *)paths, (size_t)n, out, KINDS[k], &lut, 3, status);
        hcd_read_batch((const char *const *)paths, (size_t)n, 2, status);
        free(out);
        free(status);
    }
}

/* normalize-from-memory over exact-size heap regions: contiguous patches, views cut from a
 * wider region (row stride > 288), and bottom-up views (negative row stride), threaded. */
static int from_memory(void) {
    enum { W = 301, H = 197, N = 12 };
    uint8_t *region = malloc((size_t)W * H * 3);
    uint8_t *patches = malloc((size_t)N * HCD_IMAGE_BYTES);
    if (region == NULL || patches == NULL)
        abort();
    uint64_t rng = 42;
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        region[i] = (uint8_t)next_random(&rng);
    for (size_t i = 0; i < (size_t)N * HCD_IMAGE_BYTES; i++)
        patches[i] = (uint8_t)next_random(&rng);
    const uint8_t *ptrs[N];
    ptrdiff_t strides[N];
    int ok = 0;
    for (int i = 0; i < N; i++) {
        size_t x = (size_t)(i * 17) % (W - HCD_SIDE), y = (size_t)(i * 29) % (H - HCD_SIDE);
        if (i % 3 == 0) { /* contiguous; patch 9 is the block's last, ending at its end */
            ptrs[i] = patches + (size_t)(i == 9 ? N - 1 : i) * HCD_IMAGE_BYTES;
            strides[i] = HCD_SIDE * 3;
        } else if (i % 3 == 1) { /* a view of the region; the last one touches its corner */
            if (i == N - 2) {
                x = W - HCD_SIDE;
                y = H - HCD_SIDE;
            }
            ptrs[i] = region + (y * W + x) * 3;
            strides[i] = (ptrdiff_t)W * 3;
        } else { /* bottom-up: first row is the region's last */
            ptrs[i] = region + ((size_t)(H - 1) * W + x) * 3;
            strides[i] = -(ptrdiff_t)W * 3;
        }
    }
    for (int k = 0; k < 3; k++) {
        static const float mean[3] = {0.1f, 0.2f, 0.3f}, std[3] = {0.5f, 0.4f, 0.3f};
        hcd_lut lut;
        hcd_lut_init(&lut, mean, std);
        lut.stream_stores = k & 1;
        void *out = malloc((size_t)N * hcd_row_bytes(KINDS[k]));
        int32_t status[N];
        if (out == NULL)
            abort();
        hcd_normalize_batch(ptrs, strides, N, out, KINDS[k], &lut, 3, status);
        for (int i = 0; i < N; i++)
            ok += status[i] == HCD_OK;
        free(out);
    }
    free(region);
    free(patches);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MUTATIONS_PER_FILE FILE...\n", argv[0]);
        return 2;
    }
    unsigned rounds = (unsigned)strtoul(argv[1], NULL, 10);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int i = 2; i < argc; i++) {
        size_t len = 0;
        uint8_t *data = read_whole(argv[i], &len);
        if (data == NULL) {
            fprintf(stderr, "cannot read %s\n", argv[i]);
            return 2;
        }
        LLVMFuzzerTestOneInput(data, len);
        prefixes(data, len);
        mutate_and_decode(data, len, rounds, &rng);
        free(data);
    }
    batch(argv + 2, argc - 2);
    int memory_ok = from_memory();
    printf("files %d decodes %lu ok %lu\n", argc - 2, decodes, decoded_ok);
    printf("from-memory ok %d\n", memory_ok);
    return 0;
}
#endif
