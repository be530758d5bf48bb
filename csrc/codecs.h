/* Strip decompressors bounded on input and output, and the horizontal predictor. */
#ifndef HCD_CODECS_H
#define HCD_CODECS_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/* Each decoder reads only src[0:src_len], writes only dst[0:dst_len], and returns HCD_OK when
 * the whole strip decodes to exactly dst_len bytes, HCD_CORRUPT_DATA otherwise (invalid, too
 * short, or producing more than dst_len bytes: never clipped). What follows the end of the
 * coded data is the same rule tifffile applies (see README "Decoder acceptance rules"):
 *  - PackBits: every byte of the strip is decoded; only -128 no-ops and one final 0 pad byte
 *    may follow the last run;
 *  - LZW: the strip starts with a clear code, the first code after each clear is a literal, no
 *    code follows a full table (4096 entries) but a clear, and the end-of-information code is
 *    present; bytes after it are ignored;
 *  - Deflate: the zlib stream must end (Z_STREAM_END, Adler-32 checked); bytes after it are
 *    ignored. */
int hcd_packbits_decode(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len);
int hcd_lzw_decode(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len);

/* zlib-wrapped Deflate. *zs is a stream made by inflateInit that the caller owns and reuses. */
int hcd_deflate_decode(z_stream *zs, const uint8_t *src, size_t src_len, uint8_t *dst,
                       size_t dst_len);

/* True for LZW data in the pre-TIFF-6 bit order, which tifffile handles and this does not. */
int hcd_lzw_is_old_style(const uint8_t *src, size_t src_len);

/* Undo horizontal differencing in place: `rows` rows of `width` pixels of `samples` interleaved
 * 8-bit samples each (samples 1 for one plane of planar data). */
void hcd_unpredict(uint8_t *data, size_t rows, size_t width, size_t samples);

#endif
