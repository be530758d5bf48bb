/* Pixel kernels: 8-bit RGB (interleaved or planar) -> one output row via per-channel LUTs. */
#ifndef HCD_NORMALIZE_H
#define HCD_NORMALIZE_H

#include <stdint.h>

#include "tiffdec.h"

/* src: 96*96*3 interleaved RGB bytes (read only). out: one row of `kind` (see hcd_out_kind). */
void hcd_emit_interleaved(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut);

/* planes: three 96*96-byte planes R, G, B (read only). out: one row of `kind`. */
void hcd_emit_planar(const uint8_t *const planes[3], void *out, hcd_out_kind kind,
                     const hcd_lut *lut);

/* x86-64 kernels (normalize_x86.c) for float rows from interleaved pixels; elsewhere stubs. */
int hcd_x86_supports(hcd_kernel k);
void hcd_interleaved_sse2(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut);
void hcd_interleaved_vbmi(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut);

/* aarch64 kernel (normalize_neon.c); elsewhere a stub that hcd_neon_supported() rules out. */
int hcd_neon_supported(void);
void hcd_interleaved_neon(const uint8_t *src, void *out, hcd_out_kind kind, const hcd_lut *lut);

#endif
