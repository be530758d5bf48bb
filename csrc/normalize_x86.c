/* x86-64 pixel kernels, each compiled for its own instruction set and chosen at run time, so the
 * extension itself needs no -march flag. Output is bit-identical to the scalar kernels: every
 * kernel only moves precomputed LUT bits, it computes nothing. */
#include "normalize.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <string.h>

int hcd_x86_supports(hcd_kernel k) {
    switch (k) {
    case HCD_KERNEL_SSE2: return 1; /* part of x86-64 */
    case HCD_KERNEL_AVX512VBMI:
        /* __builtin_cpu_supports also checks that the OS saves the AVX-512 registers; the init
         * call (idempotent) makes it safe however early this runs. */
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vbmi");
    default: return 0;
    }
}

static int aligned_to(const void *p, uintptr_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* Four pixels per step: one 12-byte read, twelve lookups, three 16-byte stores per plane. */
static void sse2_f32(const uint8_t *restrict src, float *restrict out, const hcd_lut *lut) {
    float *r = out, *g = out + HCD_PIXELS, *b = out + 2 * HCD_PIXELS;
    const float *l0 = lut->f32[0], *l1 = lut->f32[1], *l2 = lut->f32[2];
    int stream = lut->stream_stores && aligned_to(out, 16);
    for (size_t i = 0; i < HCD_PIXELS; i += 4) {
        uint64_t w0;
        uint32_t w1;
        memcpy(&w0, src + 3 * i, 8); /* r0 g0 b0 r1 g1 b1 r2 g2 | b2 r3 g3 b3 */
        memcpy(&w1, src + 3 * i + 8, 4);
        __m128 R = _mm_setr_ps(l0[w0 & 255], l0[(w0 >> 24) & 255], l0[(w0 >> 48) & 255],
                               l0[(w1 >> 8) & 255]);
        __m128 G = _mm_setr_ps(l1[(w0 >> 8) & 255], l1[(w0 >> 32) & 255], l1[w0 >> 56],
                               l1[(w1 >> 16) & 255]);
        __m128 B = _mm_setr_ps(l2[(w0 >> 16) & 255], l2[(w0 >> 40) & 255], l2[w1 & 255],
                               l2[w1 >> 24]);
        if (stream) {
            _mm_stream_ps(r + i, R);
            _mm_stream_ps(g + i, G);
            _mm_stream_ps(b + i, B);
        } else {
            _mm_storeu_ps(r + i, R);
            _mm_storeu_ps(g + i, G);
            _mm_storeu_ps(b + i, B);
        }
    }
    if (stream)
        _mm_sfence();
}

/* Eight pixels per step into three 16-byte stores of float16 bits. */
static void sse2_f16(const uint8_t *restrict src, uint16_t *restrict out, const hcd_lut *lut) {
    const uint16_t *l[3] = {lut->f16[0], lut->f16[1], lut->f16[2]};
    for (size_t i = 0; i < HCD_PIXELS; i += 8) {
        const uint8_t *p = src + 3 * i;
        for (int c = 0; c < 3; c++) {
            const uint16_t *t = l[c];
            __m128i v = _mm_setr_epi16((short)t[p[c]], (short)t[p[3 + c]], (short)t[p[6 + c]],
                                       (short)t[p[9 + c]], (short)t[p[12 + c]],
                                       (short)t[p[15 + c]], (short)t[p[18 + c]],
                                       (short)t[p[21 + c]]);
            _mm_storeu_si128((__m128i *)(out + (size_t)c * HCD_PIXELS + i), v);
        }
    }
}

void hcd_interleaved_sse2(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut) {
    if (kind == HCD_OUT_F32_CHW)
        sse2_f32(src, out, lut);
    else
        sse2_f16(src, out, lut);
}

#define VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/* 64 lookups in a 256-byte table: vpermi2b covers 128 entries, the index's top bit picks. */
VBMI static inline __m512i lookup_bytes(__m512i idx, const uint8_t *table) {
    __m512i lo = _mm512_permutex2var_epi8(_mm512_load_si512(table), idx,
                                          _mm512_load_si512(table + 64));
    __m512i hi = _mm512_permutex2var_epi8(_mm512_load_si512(table + 128), idx,
                                          _mm512_load_si512(table + 192));
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), lo, hi);
}

/* The 64 bytes of one channel for pixels i..i+63, in the lane order the unpacks below undo. */
VBMI static inline __m512i channel_bytes(const uint8_t *p, __m512i sel_lo, __m512i sel_hi,
                                          __mmask64 hi_mask) {
    __m512i idx = _mm512_permutex2var_epi8(_mm512_loadu_si512(p), sel_lo,
                                           _mm512_loadu_si512(p + 64));
    return _mm512_mask_permutexvar_epi8(idx, hi_mask, sel_hi, _mm512_loadu_si512(p + 128));
}

VBMI static inline void put(void *dst, __m512i v, int stream) {
    if (stream)
        _mm512_stream_si512((__m512i *)dst, v);
    else
        _mm512_storeu_si512(dst, v);
}

VBMI static void vbmi_f32(const uint8_t *src, float *out, const hcd_lut *lut) {
    int stream = lut->stream_stores && aligned_to(out, 64);
    for (int c = 0; c < 3; c++) {
        __m512i sel_lo = _mm512_load_si512(lut->sel_lo[0][c]);
        __m512i sel_hi = _mm512_load_si512(lut->sel_hi[0][c]);
        __mmask64 hi_mask = lut->sel_hi_mask[0][c];
        const uint8_t *t = &lut->f32_bytes[c][0][0];
        float *dst = out + (size_t)c * HCD_PIXELS;
        for (size_t i = 0; i < HCD_PIXELS; i += 64) {
            __m512i idx = channel_bytes(src + 3 * i, sel_lo, sel_hi, hi_mask);
            __m512i b0 = lookup_bytes(idx, t), b1 = lookup_bytes(idx, t + 256);
            __m512i b2 = lookup_bytes(idx, t + 512), b3 = lookup_bytes(idx, t + 768);
            __m512i lo01 = _mm512_unpacklo_epi8(b0, b1), hi01 = _mm512_unpackhi_epi8(b0, b1);
            __m512i lo23 = _mm512_unpacklo_epi8(b2, b3), hi23 = _mm512_unpackhi_epi8(b2, b3);
            put(dst + i, _mm512_unpacklo_epi16(lo01, lo23), stream);
            put(dst + i + 16, _mm512_unpackhi_epi16(lo01, lo23), stream);
            put(dst + i + 32, _mm512_unpacklo_epi16(hi01, hi23), stream);
            put(dst + i + 48, _mm512_unpackhi_epi16(hi01, hi23), stream);
        }
    }
    if (stream)
        _mm_sfence();
}

VBMI static void vbmi_f16(const uint8_t *src, uint16_t *out, const hcd_lut *lut) {
    int stream = lut->stream_stores && aligned_to(out, 64);
    for (int c = 0; c < 3; c++) {
        __m512i sel_lo = _mm512_load_si512(lut->sel_lo[1][c]);
        __m512i sel_hi = _mm512_load_si512(lut->sel_hi[1][c]);
        __mmask64 hi_mask = lut->sel_hi_mask[1][c];
        const uint8_t *t = &lut->f16_bytes[c][0][0];
        uint16_t *dst = out + (size_t)c * HCD_PIXELS;
        for (size_t i = 0; i < HCD_PIXELS; i += 64) {
            __m512i idx = channel_bytes(src + 3 * i, sel_lo, sel_hi, hi_mask);
            __m512i b0 = lookup_bytes(idx, t), b1 = lookup_bytes(idx, t + 256);
            put(dst + i, _mm512_unpacklo_epi8(b0, b1), stream);
            put(dst + i + 32, _mm512_unpackhi_epi8(b0, b1), stream);
        }
    }
    if (stream)
        _mm_sfence();
}

VBMI void hcd_interleaved_vbmi(const uint8_t *src, void *out, hcd_out_kind kind,
                               const hcd_lut *lut) {
    if (kind == HCD_OUT_F32_CHW)
        vbmi_f32(src, out, lut);
    else
        vbmi_f16(src, out, lut);
}

#else /* not x86-64: only the portable kernels exist */

int hcd_x86_supports(hcd_kernel k) {
    (void)k;
    return 0;
}

void hcd_interleaved_sse2(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut) {
    (void)src, (void)out, (void)kind, (void)lut;
}

void hcd_interleaved_vbmi(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut) {
    (void)src, (void)out, (void)kind, (void)lut;
}

#endif
