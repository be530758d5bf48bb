/* Normalization kernels and the float16 conversion. No allocation, no global state. */
#define _GNU_SOURCE /* sysconf(_SC_LEVEL3_CACHE_SIZE) on glibc */
#include "normalize.h"

#include <string.h>
#include <unistd.h>

size_t hcd_row_bytes(hcd_out_kind kind) {
    switch (kind) {
    case HCD_OUT_U8_HWC: return HCD_IMAGE_BYTES;
    case HCD_OUT_F32_CHW: return HCD_IMAGE_BYTES * sizeof(float);
    case HCD_OUT_F16_CHW: return HCD_IMAGE_BYTES * sizeof(uint16_t);
    }
    return 0;
}

uint16_t hcd_f32_to_f16(float value) {
    uint32_t f;
    memcpy(&f, &value, sizeof f);
    uint32_t sign = (f >> 16) & 0x8000u;
    uint32_t mag = f & 0x7fffffffu;
    if (mag > 0x7f800000u) { /* NaN keeps its top payload bits and stays a NaN, as in numpy */
        uint32_t payload = (mag & 0x7fffffu) >> 13;
        return (uint16_t)(sign | 0x7c00u | (payload ? payload : 1u));
    }
    if (mag == 0x7f800000u)
        return (uint16_t)(sign | 0x7c00u);
    if (mag >= 0x47800000u) /* 2^16 and above overflow */
        return (uint16_t)(sign | 0x7c00u);
    uint32_t exp = mag >> 23;
    uint32_t q, rem, half;
    if (exp < 113) { /* below 2^-14: a subnormal half, in units of 2^-24 */
        if (exp < 102)
            return (uint16_t)sign;
        uint32_t sig = (mag & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exp; /* 14..24 */
        q = sig >> shift;
        rem = sig & ((1u << shift) - 1u);
        half = 1u << (shift - 1u);
    } else {
        q = ((exp - 112) << 10) | ((mag & 0x7fffffu) >> 13);
        rem = mag & 0x1fffu;
        half = 0x1000u;
    }
    if (rem > half || (rem == half && (q & 1u)))
        q++; /* a carry out of the significand correctly bumps the exponent (up to infinity) */
    return (uint16_t)(sign | q);
}

#define DEFAULT_L3_BYTES (16u * 1024u * 1024u) /* when the OS does not say */

/* Measured on a 32 MiB-L3 EPYC: regular stores win while a batch fits in about half the L3
 * (the consumer then finds it in cache), non-temporal stores win beyond. */
static size_t stream_threshold(void) {
    long l3 = -1;
#ifdef _SC_LEVEL3_CACHE_SIZE
    l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
    return (l3 > 0 ? (size_t)l3 : DEFAULT_L3_BYTES) / 2;
}

int hcd_stream_default(size_t n, hcd_out_kind kind) {
    return kind != HCD_OUT_U8_HWC && n * hcd_row_bytes(kind) > stream_threshold();
}

int hcd_kernel_supported(hcd_kernel k) {
    return k == HCD_KERNEL_SCALAR || hcd_x86_supports(k) ||
           (k == HCD_KERNEL_NEON && hcd_neon_supported());
}

/* Index lane q of the byte-shuffle kernel holds pixel pixel_of(q): the order in which the
 * 128-bit-lane unpacks that build float32 (4 bytes) or float16 (2 bytes) words emit pixels. */
static unsigned pixel_of(unsigned q, int half) {
    if (half)
        return 32 * ((q >> 3) & 1) + 8 * (q >> 4) + (q & 7);
    return 16 * ((q >> 2) & 3) + 4 * (q >> 4) + (q & 3);
}

static void init_selectors(hcd_lut *lut) {
    for (int half = 0; half < 2; half++) {
        for (unsigned c = 0; c < 3; c++) {
            uint64_t mask = 0;
            for (unsigned q = 0; q < 64; q++) {
                unsigned at = 3 * pixel_of(q, half) + c; /* byte offset in 192 source bytes */
                lut->sel_lo[half][c][q] = (uint8_t)(at & 127);
                lut->sel_hi[half][c][q] = (uint8_t)((at - 128) & 63);
                if (at >= 128)
                    mask |= 1ull << q;
            }
            lut->sel_hi_mask[half][c] = mask;
        }
    }
}

static void init_byte_planes(hcd_lut *lut) {
    for (int c = 0; c < 3; c++) {
        for (int v = 0; v < 256; v++) {
            uint32_t bits;
            memcpy(&bits, &lut->f32[c][v], sizeof bits);
            for (int k = 0; k < 4; k++)
                lut->f32_bytes[c][k][v] = (uint8_t)(bits >> (8 * k));
            lut->f16_bytes[c][0][v] = (uint8_t)(lut->f16[c][v] & 0xffu);
            lut->f16_bytes[c][1][v] = (uint8_t)(lut->f16[c][v] >> 8);
        }
    }
}

void hcd_lut_init(hcd_lut *lut, const float mean[3], const float std[3]) {
    for (int c = 0; c < 3; c++) {
        for (int v = 0; v < 256; v++) {
            /* Three float32 operations in numpy's order: no contraction, no reassociation. */
            float scaled = (float)v / 255.0f;
            float centred = scaled - mean[c];
            float value = centred / std[c];
            lut->f32[c][v] = value;
            lut->f16[c][v] = hcd_f32_to_f16(value);
        }
    }
    init_byte_planes(lut);
    init_selectors(lut);
    lut->stream_stores = 0;
    lut->kernel = HCD_KERNEL_SCALAR;
    for (int k = HCD_KERNEL_COUNT - 1; k > HCD_KERNEL_SCALAR; k--) {
        if (hcd_kernel_supported((hcd_kernel)k)) {
            lut->kernel = k;
            break;
        }
    }
}

static void interleaved_f32(const uint8_t *restrict src, float *restrict out, const hcd_lut *lut) {
    float *restrict r = out, *restrict g = out + HCD_PIXELS, *restrict b = out + 2 * HCD_PIXELS;
    const float *lr = lut->f32[0], *lg = lut->f32[1], *lb = lut->f32[2];
    for (size_t i = 0; i < HCD_PIXELS; i++) {
        r[i] = lr[src[3 * i]];
        g[i] = lg[src[3 * i + 1]];
        b[i] = lb[src[3 * i + 2]];
    }
}

static void interleaved_f16(const uint8_t *restrict src, uint16_t *restrict out,
                            const hcd_lut *lut) {
    uint16_t *restrict r = out, *restrict g = out + HCD_PIXELS, *restrict b = out + 2 * HCD_PIXELS;
    const uint16_t *lr = lut->f16[0], *lg = lut->f16[1], *lb = lut->f16[2];
    for (size_t i = 0; i < HCD_PIXELS; i++) {
        r[i] = lr[src[3 * i]];
        g[i] = lg[src[3 * i + 1]];
        b[i] = lb[src[3 * i + 2]];
    }
}

void hcd_emit_interleaved(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut) {
    if (kind == HCD_OUT_U8_HWC) {
        memcpy(out, src, HCD_IMAGE_BYTES);
    } else if (lut->kernel == HCD_KERNEL_NEON) {
        hcd_interleaved_neon(src, out, kind, lut);
    } else if (lut->kernel == HCD_KERNEL_AVX512VBMI) {
        hcd_interleaved_vbmi(src, out, kind, lut);
    } else if (lut->kernel == HCD_KERNEL_SSE2) {
        hcd_interleaved_sse2(src, out, kind, lut);
    } else if (kind == HCD_OUT_F32_CHW) {
        interleaved_f32(src, out, lut);
    } else {
        interleaved_f16(src, out, lut);
    }
}

static void planar_u8(const uint8_t *const planes[3], uint8_t *restrict out) {
    const uint8_t *r = planes[0], *g = planes[1], *b = planes[2];
    for (size_t i = 0; i < HCD_PIXELS; i++) {
        out[3 * i] = r[i];
        out[3 * i + 1] = g[i];
        out[3 * i + 2] = b[i];
    }
}

void hcd_emit_planar(const uint8_t *const planes[3], void *out, hcd_out_kind kind,
                     const hcd_lut *lut) {
    if (kind == HCD_OUT_U8_HWC) {
        planar_u8(planes, out);
        return;
    }
    for (int c = 0; c < 3; c++) {
        const uint8_t *restrict src = planes[c];
        if (kind == HCD_OUT_F32_CHW) {
            float *restrict dst = (float *)out + (size_t)c * HCD_PIXELS;
            for (size_t i = 0; i < HCD_PIXELS; i++)
                dst[i] = lut->f32[c][src[i]];
        } else {
            uint16_t *restrict dst = (uint16_t *)out + (size_t)c * HCD_PIXELS;
            for (size_t i = 0; i < HCD_PIXELS; i++)
                dst[i] = lut->f16[c][src[i]];
        }
    }
}
