/* aarch64 (Jetson) pixel kernel: 256-entry byte-table lookups with NEON TBL/TBX. NEON is part
 * of every aarch64 CPU, so no run-time check is needed. Output is bit-identical to the scalar
 * kernels: only precomputed LUT bits are moved. */
#include "normalize.h"

#if defined(__aarch64__)
#include <arm_neon.h>

int hcd_neon_supported(void) { return 1; }

/* The four 64-byte quarters of one 256-byte table, held in registers across a whole plane. */
typedef struct {
    uint8x16x4_t q[4];
} table256;

static table256 load_table(const uint8_t *t) {
    table256 tab;
    for (int i = 0; i < 4; i++)
        tab.q[i] = vld1q_u8_x4(t + 64 * i);
    return tab;
}

/* TBL gives 0 for an index past its 64 bytes and TBX leaves such lanes alone, so each quarter
 * fills exactly the lanes whose index falls in it. */
static inline uint8x16_t lookup(const table256 *tab, uint8x16_t idx) {
    uint8x16_t r = vqtbl4q_u8(tab->q[0], idx);
    r = vqtbx4q_u8(r, tab->q[1], vsubq_u8(idx, vdupq_n_u8(64)));
    r = vqtbx4q_u8(r, tab->q[2], vsubq_u8(idx, vdupq_n_u8(128)));
    return vqtbx4q_u8(r, tab->q[3], vsubq_u8(idx, vdupq_n_u8(192)));
}

/* out[i] = table[idx[i]] for one plane of bytes. */
static void lookup_plane(const uint8_t *table, const uint8_t *idx, uint8_t *out) {
    table256 tab = load_table(table);
    for (size_t i = 0; i < HCD_PIXELS; i += 16)
        vst1q_u8(out + i, lookup(&tab, vld1q_u8(idx + i)));
}

static void channel_plane(const uint8_t *src, int c, uint8_t *idx) {
    for (size_t i = 0; i < HCD_PIXELS; i += 16) {
        uint8x16x3_t px = vld3q_u8(src + 3 * i); /* de-interleaves R, G, B */
        vst1q_u8(idx + i, px.val[c]);
    }
}

static void neon_f32(const uint8_t *src, float *out, const hcd_lut *lut) {
    uint8_t idx[HCD_PIXELS];
    uint8_t bytes[4][HCD_PIXELS]; /* byte k of each float, then interleaved by vst4 */
    for (int c = 0; c < 3; c++) {
        channel_plane(src, c, idx);
        for (int k = 0; k < 4; k++)
            lookup_plane(lut->f32_bytes[c][k], idx, bytes[k]);
        uint8_t *dst = (uint8_t *)(out + (size_t)c * HCD_PIXELS);
        for (size_t i = 0; i < HCD_PIXELS; i += 16) {
            uint8x16x4_t q = {{vld1q_u8(bytes[0] + i), vld1q_u8(bytes[1] + i),
                               vld1q_u8(bytes[2] + i), vld1q_u8(bytes[3] + i)}};
            vst4q_u8(dst + 4 * i, q);
        }
    }
}

static void neon_f16(const uint8_t *src, uint16_t *out, const hcd_lut *lut) {
    uint8_t idx[HCD_PIXELS];
    uint8_t bytes[2][HCD_PIXELS];
    for (int c = 0; c < 3; c++) {
        channel_plane(src, c, idx);
        for (int k = 0; k < 2; k++)
            lookup_plane(lut->f16_bytes[c][k], idx, bytes[k]);
        uint8_t *dst = (uint8_t *)(out + (size_t)c * HCD_PIXELS);
        for (size_t i = 0; i < HCD_PIXELS; i += 16) {
            uint8x16x2_t q = {{vld1q_u8(bytes[0] + i), vld1q_u8(bytes[1] + i)}};
            vst2q_u8(dst + 2 * i, q);
        }
    }
}

void hcd_interleaved_neon(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut) {
    if (kind == HCD_OUT_F32_CHW)
        neon_f32(src, out, lut);
    else
        neon_f16(src, out, lut);
}

#else /* not aarch64 */

int hcd_neon_supported(void) { return 0; }

void hcd_interleaved_neon(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut) {
    (void)src, (void)out, (void)kind, (void)lut;
}

#endif
