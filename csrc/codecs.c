/* PackBits, TIFF LZW, Deflate (zlib) and the horizontal predictor for 8-bit samples. */
#include "codecs.h"

#include <limits.h>
#include <string.h>

#include "tiffdec.h"

int hcd_packbits_decode(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    size_t in = 0, out = 0;
    while (in < src_len) {
        int n = (int8_t)src[in++];
        if (n == 0 && in == src_len)
            break; /* a lone 0 as the last byte pads the strip to even length (imagecodecs too) */
        if (n >= 0) { /* n + 1 literal bytes */
            size_t run = (size_t)n + 1;
            if (run > src_len - in || run > dst_len - out)
                return HCD_CORRUPT_DATA; /* past the input, or more output than the strip holds */
            memcpy(dst + out, src + in, run);
            in += run;
            out += run;
        } else if (n != -128) { /* the next byte 1 - n times; -128 is a no-op */
            size_t run = (size_t)(1 - n);
            if (in >= src_len || run > dst_len - out)
                return HCD_CORRUPT_DATA;
            memset(dst + out, src[in++], run);
            out += run;
        }
    }
    return out == dst_len ? HCD_OK : HCD_CORRUPT_DATA;
}

enum { LZW_CLEAR = 256, LZW_EOI = 257, LZW_FIRST = 258, LZW_MAX_CODES = 4096 };

/* String table: each code is its prefix code plus one byte; len counts the whole string. */
typedef struct {
    uint16_t prefix[LZW_MAX_CODES];
    uint16_t len[LZW_MAX_CODES];
    uint8_t last[LZW_MAX_CODES];
    uint8_t first[LZW_MAX_CODES];
} lzw_table;

typedef struct {
    const uint8_t *src;
    size_t len;
    size_t bitpos;
} bit_reader;

/* Next `width`-bit code, most significant bit first; -1 at the end of the input. */
static int next_code(bit_reader *br, unsigned width) {
    if (br->bitpos + width > br->len * 8)
        return -1;
    size_t byte = br->bitpos >> 3;
    uint32_t window = (uint32_t)br->src[byte] << 16;
    if (byte + 1 < br->len)
        window |= (uint32_t)br->src[byte + 1] << 8;
    if (byte + 2 < br->len)
        window |= br->src[byte + 2];
    unsigned shift = 24 - (unsigned)(br->bitpos & 7) - width;
    br->bitpos += width;
    return (int)((window >> shift) & ((1u << width) - 1));
}

/* Write the string of `code` at dst[out:]; returns the new end, or 0 when it does not fit. */
static size_t emit(const lzw_table *t, unsigned code, uint8_t *dst, size_t out, size_t dst_len) {
    size_t n = t->len[code];
    if (n > dst_len - out)
        return 0; /* the codes produce more bytes than the strip holds: corrupt, not clipped */
    unsigned c = code;
    for (size_t i = n; i > 0; i--) {
        dst[out + i - 1] = t->last[c];
        c = t->prefix[c];
    }
    return out + n;
}

static void lzw_reset(lzw_table *t) {
    for (unsigned c = 0; c < 256; c++) {
        t->len[c] = 1;
        t->last[c] = t->first[c] = (uint8_t)c;
        t->prefix[c] = 0;
    }
}

static unsigned code_width(unsigned next) {
    /* TIFF LZW widens one code early ("early change"), like libtiff and tifffile. */
    return next >= 2047 ? 12 : next >= 1023 ? 11 : next >= 511 ? 10 : 9;
}

static void add_string(lzw_table *t, unsigned *next, unsigned prev, uint8_t byte) {
    if (*next >= LZW_MAX_CODES)
        return; /* a full table stays full until the next clear code */
    t->prefix[*next] = (uint16_t)prev;
    t->len[*next] = (uint16_t)(t->len[prev] + 1);
    t->first[*next] = t->first[prev];
    t->last[*next] = byte;
    (*next)++;
}

int hcd_lzw_decode(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    lzw_table t;
    lzw_reset(&t);
    bit_reader br = {src, src_len, 0};
    unsigned next = LZW_FIRST;
    int prev = -1;
    size_t out = 0;
    if (next_code(&br, 9) != LZW_CLEAR)
        return HCD_CORRUPT_DATA; /* a TIFF LZW strip starts with a clear code */
    for (;;) {
        int code = next_code(&br, code_width(next));
        if (code < 0)
            return HCD_CORRUPT_DATA; /* the strip ends without an end-of-information code */
        if (code == LZW_EOI)
            break;
        if (code == LZW_CLEAR) {
            next = LZW_FIRST;
            prev = -1;
            continue;
        }
        if (prev < 0) { /* first code after a clear must be a literal */
            if (code > 255)
                return HCD_CORRUPT_DATA;
        } else if (next >= LZW_MAX_CODES) {
            return HCD_CORRUPT_DATA; /* a full table must be cleared before the next code */
        } else if ((unsigned)code < next) {
            add_string(&t, &next, (unsigned)prev, t.first[code]);
        } else if ((unsigned)code == next) { /* KwKwK: prev's string + its first byte */
            add_string(&t, &next, (unsigned)prev, t.first[prev]);
        } else {
            return HCD_CORRUPT_DATA;
        }
        size_t end = emit(&t, (unsigned)code, dst, out, dst_len);
        if (end == 0)
            return HCD_CORRUPT_DATA;
        out = end;
        prev = code;
    }
    return out == dst_len ? HCD_OK : HCD_CORRUPT_DATA;
}

int hcd_lzw_is_old_style(const uint8_t *src, size_t src_len) {
    return src_len >= 2 && src[0] == 0 && (src[1] & 1);
}

int hcd_deflate_decode(z_stream *zs, const uint8_t *src, size_t src_len, uint8_t *dst,
                       size_t dst_len) {
    if (inflateReset(zs) != Z_OK || src_len > UINT_MAX || dst_len > UINT_MAX)
        return HCD_CORRUPT_DATA;
    zs->next_in = (Bytef *)(uintptr_t)src; /* zlib's API is not const-correct; it only reads */
    zs->avail_in = (uInt)src_len;
    zs->next_out = dst;
    zs->avail_out = (uInt)dst_len;
    /* Only a complete stream counts: Z_STREAM_END means the end-of-stream block was reached
     * and the Adler-32 matched. Z_OK / Z_BUF_ERROR with the output full is a stream that wants
     * to write more than the strip holds (or lacks its end); either way it is corrupt. Bytes
     * after the stream end are ignored, as tifffile (libdeflate) ignores them. */
    int rc = inflate(zs, Z_FINISH);
    if (rc != Z_STREAM_END)
        return HCD_CORRUPT_DATA;
    return zs->avail_out == 0 ? HCD_OK : HCD_CORRUPT_DATA;
}

void hcd_unpredict(uint8_t *data, size_t rows, size_t width, size_t samples) {
    size_t row_len = width * samples;
    for (size_t y = 0; y < rows; y++) {
        uint8_t *row = data + y * row_len;
        for (size_t i = samples; i < row_len; i++)
            row[i] = (uint8_t)(row[i] + row[i - samples]);
    }
}
