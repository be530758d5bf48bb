/* Classic-TIFF first-IFD parser. Reads only bytes it has checked lie inside buf[0:len]. */
#include "tiff_ifd.h"

#include <string.h>

#include "tiffdec.h"

#define MAX_IFD_ENTRIES 4096u /* tifffile also calls more tags than this suspicious */
#define MAX_CHAIN_IFDS 64u     /* next-IFD hops checked for loops; only page 0 is decoded */

enum {
    TAG_WIDTH = 256, TAG_LENGTH = 257, TAG_BITS = 258, TAG_COMPRESSION = 259,
    TAG_PHOTOMETRIC = 262, TAG_FILLORDER = 266, TAG_OFFSETS = 273, TAG_SAMPLES = 277,
    TAG_ROWS_PER_STRIP = 278, TAG_COUNTS = 279, TAG_PLANAR = 284, TAG_PREDICTOR = 317,
    TAG_TILE_WIDTH = 322, TAG_TILE_LENGTH = 323, TAG_TILE_OFFSETS = 324, TAG_TILE_COUNTS = 325,
    TAG_SAMPLE_FORMAT = 339
};

enum { TYPE_SHORT = 3, TYPE_LONG = 4 };

/* One IFD entry of interest; value is NULL when its bytes lie outside the buffer. */
typedef struct {
    int present;
    uint16_t type;
    uint32_t count;
    const uint8_t *value;
    int value_in_header; /* out-of-line values at an offset below 8: refused, as tifffile does */
} entry;

typedef struct {
    entry width, length, bits, compression, photometric, fillorder, offsets, samples;
    entry rows_per_strip, counts, planar, predictor, sample_format;
    int tiled;
} tagset;

typedef struct {
    const uint8_t *buf;
    size_t len;
    int be;
} reader;

static uint16_t load16(const uint8_t *p, int be) {
    return be ? (uint16_t)((p[0] << 8) | p[1]) : (uint16_t)((p[1] << 8) | p[0]);
}

static uint32_t load32(const uint8_t *p, int be) {
    if (be)
        return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

/* True when [off, off + size) lies inside the buffer; written so that nothing overflows. */
static int in_bounds(const reader *r, uint64_t off, uint64_t size) {
    return off <= r->len && size <= r->len - off;
}

uint32_t hcd_array_get(const hcd_array_ref *ref, int big_endian, uint32_t i) {
    if (ref->type == TYPE_SHORT)
        return load16(ref->at + 2u * (size_t)i, big_endian);
    return load32(ref->at + 4u * (size_t)i, big_endian);
}

static int check_header(const uint8_t *buf, size_t len, int *be) {
    static const uint8_t magics[4][4] = {
        {'I', 'I', 42, 0}, {'M', 'M', 0, 42}, {'I', 'I', 43, 0}, {'M', 'M', 0, 43}};
    size_t head = len < 4 ? len : 4;
    for (int m = 0; m < 4; m++) {
        if (memcmp(buf, magics[m], head) != 0)
            continue;
        if (len < 8)
            return HCD_TRUNCATED;
        if (m >= 2)
            return HCD_NEEDS_FALLBACK; /* BigTIFF */
        *be = (m == 1);
        return HCD_OK;
    }
    return HCD_NOT_TIFF;
}

static unsigned type_size(uint16_t type) {
    static const unsigned sizes[19] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8};
    return type < 19 ? sizes[type] : 0;
}

static entry *slot_for(tagset *t, uint16_t tag) {
    switch (tag) {
    case TAG_WIDTH: return &t->width;
    case TAG_LENGTH: return &t->length;
    case TAG_BITS: return &t->bits;
    case TAG_COMPRESSION: return &t->compression;
    case TAG_PHOTOMETRIC: return &t->photometric;
    case TAG_FILLORDER: return &t->fillorder;
    case TAG_OFFSETS: return &t->offsets;
    case TAG_SAMPLES: return &t->samples;
    case TAG_ROWS_PER_STRIP: return &t->rows_per_strip;
    case TAG_COUNTS: return &t->counts;
    case TAG_PLANAR: return &t->planar;
    case TAG_PREDICTOR: return &t->predictor;
    case TAG_SAMPLE_FORMAT: return &t->sample_format;
    default: return NULL;
    }
}

/* Record entry bytes p[0:12] if its tag matters; the first occurrence of a tag wins. */
static void read_entry(const reader *r, const uint8_t *p, tagset *t) {
    uint16_t tag = load16(p, r->be);
    if (tag >= TAG_TILE_WIDTH && tag <= TAG_TILE_COUNTS)
        t->tiled = 1;
    entry *e = slot_for(t, tag);
    if (e == NULL || e->present)
        return;
    e->present = 1;
    e->type = load16(p + 2, r->be);
    e->count = load32(p + 4, r->be);
    uint64_t size = (uint64_t)e->count * type_size(e->type);
    if (size <= 4) {
        e->value = p + 8;
        return;
    }
    uint32_t off = load32(p + 8, r->be);
    e->value_in_header = off < 8;
    e->value = in_bounds(r, off, size) && off >= 8 ? r->buf + off : NULL;
}

/* Follow next-IFD pointers from the first IFD; a pointer back to a visited IFD is a loop. */
static int check_chain(const reader *r, uint32_t first, uint32_t next) {
    uint32_t seen[MAX_CHAIN_IFDS];
    unsigned nseen = 0;
    seen[nseen++] = first;
    while (next != 0 && nseen < MAX_CHAIN_IFDS) {
        for (unsigned i = 0; i < nseen; i++)
            if (seen[i] == next)
                return HCD_BAD_IFD;
        /* A dangling pointer past page 0 does not stop page 0 from decoding (tifffile agrees). */
        if (!in_bounds(r, next, 2))
            return HCD_OK;
        uint64_t end = (uint64_t)next + 2 + 12u * (uint64_t)load16(r->buf + next, r->be);
        if (!in_bounds(r, end, 4))
            return HCD_OK;
        seen[nseen++] = next;
        next = load32(r->buf + end, r->be);
    }
    return HCD_OK;
}

static int read_ifd(const reader *r, tagset *t) {
    uint32_t ifd = load32(r->buf + 4, r->be);
    if (ifd < 8)
        return HCD_BAD_IFD;
    if (!in_bounds(r, ifd, 2))
        return HCD_TRUNCATED;
    uint32_t n = load16(r->buf + ifd, r->be);
    if (n == 0 || n > MAX_IFD_ENTRIES)
        return HCD_BAD_IFD;
    uint64_t end = (uint64_t)ifd + 2 + 12u * (uint64_t)n;
    if (!in_bounds(r, end, 4))
        return HCD_TRUNCATED;
    for (uint32_t i = 0; i < n; i++)
        read_entry(r, r->buf + ifd + 2 + 12u * (size_t)i, t);
    return check_chain(r, ifd, load32(r->buf + end, r->be));
}

/* Why an entry has no readable values: they lie past the end, or inside the 8-byte header. */
static int value_fault(const entry *e) {
    return e->value_in_header ? HCD_BAD_TAG : HCD_TRUNCATED;
}

/* Value i of an integer entry; the caller checked presence, bounds and i < count. */
static uint32_t entry_get(const entry *e, int be, uint32_t i) {
    if (e->type == TYPE_SHORT)
        return load16(e->value + 2u * (size_t)i, be);
    return load32(e->value + 4u * (size_t)i, be);
}

/* The TIFF 6 types of the tags read here; BYTE is not one (tifffile reads it as bytes). */
static int is_integer_type(uint16_t type) {
    return type == TYPE_SHORT || type == TYPE_LONG;
}

/* A single-valued integer tag: *v on HCD_OK; `missing` is returned when the tag is absent.
 * Exactly one SHORT or LONG value, as TIFF 6 defines these tags and tifffile reads them. */
static int scalar(const entry *e, int be, int missing, uint32_t *v) {
    if (!e->present)
        return missing;
    if (!is_integer_type(e->type) || e->count != 1)
        return HCD_BAD_TAG;
    if (e->value == NULL)
        return value_fault(e);
    *v = entry_get(e, be, 0);
    return HCD_OK;
}

/* The first value of a per-sample tag (any count), to name the fault of a non-RGB image. */
static int first_value(const entry *e, int be, uint32_t *v) {
    if (!is_integer_type(e->type) || e->count < 1)
        return HCD_BAD_TAG;
    if (e->value == NULL)
        return value_fault(e);
    *v = entry_get(e, be, 0);
    return HCD_OK;
}

/* An optional scalar tag with a default. */
static int scalar_or(const entry *e, int be, uint32_t fallback_value, uint32_t *v) {
    *v = fallback_value;
    return e->present ? scalar(e, be, HCD_OK, v) : HCD_OK;
}

/* Every per-sample value of e equals `want` (count 1 applies to all samples). */
static int all_samples(const entry *e, int be, uint32_t want, int mismatch) {
    if (e->type != TYPE_SHORT || (e->count != 1 && e->count != 3))
        return HCD_BAD_TAG;
    if (e->value == NULL)
        return value_fault(e);
    for (uint32_t i = 0; i < e->count; i++)
        if (entry_get(e, be, i) != want)
            return mismatch;
    return HCD_OK;
}

/* The checks tifffile's reference makes, in its order: 8-bit, then RGB, then 96x96. */
static int check_pixel_format(const tagset *t, int be) {
    uint32_t spp, photometric, width, length;
    int st = scalar(&t->samples, be, HCD_NEEDS_FALLBACK, &spp);
    if (st != HCD_OK)
        return st;
    if (!t->bits.present)
        return HCD_NEEDS_FALLBACK; /* tifffile guesses a default bit depth */
    if (spp == 3 && (st = all_samples(&t->bits, be, 8, HCD_NOT_8BIT)) != HCD_OK)
        return st;
    if (spp != 3) {
        uint32_t bits;
        if ((st = first_value(&t->bits, be, &bits)) != HCD_OK)
            return st;
        return bits != 8 ? HCD_NOT_8BIT : HCD_NOT_RGB;
    }
    if ((st = scalar(&t->photometric, be, HCD_NEEDS_FALLBACK, &photometric)) != HCD_OK)
        return st;
    if (photometric == 6)
        return HCD_NEEDS_FALLBACK; /* YCbCr: tifffile converts (JPEG) */
    if (photometric != 2)
        return HCD_NOT_RGB;
    if ((st = scalar(&t->width, be, HCD_MISSING_TAG, &width)) != HCD_OK ||
        (st = scalar(&t->length, be, HCD_MISSING_TAG, &length)) != HCD_OK)
        return st;
    return (width == HCD_SIDE && length == HCD_SIDE) ? HCD_OK : HCD_WRONG_SIZE;
}

/* Compression, predictor, fill order, sample format and planar configuration. */
static int check_coding(const tagset *t, int be, hcd_layout *out) {
    uint32_t compression, predictor, planar, fillorder;
    int st;
    if ((st = scalar_or(&t->compression, be, 1, &compression)) != HCD_OK ||
        (st = scalar_or(&t->predictor, be, 1, &predictor)) != HCD_OK ||
        (st = scalar_or(&t->planar, be, 1, &planar)) != HCD_OK ||
        (st = scalar_or(&t->fillorder, be, 1, &fillorder)) != HCD_OK)
        return st;
    if (t->sample_format.present &&
        (st = all_samples(&t->sample_format, be, 1, HCD_NEEDS_FALLBACK)) != HCD_OK)
        return st;
    if (compression != HCD_COMPRESSION_NONE && compression != HCD_COMPRESSION_LZW &&
        compression != HCD_COMPRESSION_ADOBE_DEFLATE && compression != HCD_COMPRESSION_DEFLATE &&
        compression != HCD_COMPRESSION_PACKBITS)
        return HCD_NEEDS_FALLBACK;
    if ((predictor != 1 && predictor != 2) || (planar != 1 && planar != 2) || fillorder != 1 ||
        t->tiled)
        return HCD_NEEDS_FALLBACK;
    out->compression = (uint16_t)compression;
    out->predictor = (uint16_t)predictor;
    out->planar = (uint16_t)planar;
    return HCD_OK;
}

static int strip_array(const entry *e, uint32_t want, int missing, hcd_array_ref *ref) {
    if (!e->present)
        return missing;
    if ((e->type != TYPE_SHORT && e->type != TYPE_LONG) || e->count != want)
        return HCD_BAD_TAG;
    if (e->value == NULL)
        return value_fault(e);
    ref->at = e->value;
    ref->count = e->count;
    ref->type = e->type;
    return HCD_OK;
}

static int check_strips(const tagset *t, int be, hcd_layout *out) {
    uint32_t rps;
    int st = scalar_or(&t->rows_per_strip, be, HCD_SIDE, &rps);
    if (st != HCD_OK)
        return st;
    if (rps == 0)
        return HCD_BAD_TAG;
    if (rps > HCD_SIDE)
        rps = HCD_SIDE;
    out->rows_per_strip = rps;
    out->strips = ((HCD_SIDE + rps - 1) / rps) * (out->planar == 2 ? 3u : 1u);
    if ((st = strip_array(&t->offsets, out->strips, HCD_MISSING_TAG, &out->offsets)) != HCD_OK)
        return st;
    /* Without byte counts tifffile derives them for uncompressed data; let it. */
    return strip_array(&t->counts, out->strips, HCD_NEEDS_FALLBACK, &out->counts);
}

int hcd_parse_ifd(const uint8_t *buf, size_t len, hcd_layout *out) {
    if (len == 0)
        return HCD_EMPTY_FILE;
    reader r = {buf, len, 0};
    tagset tags;
    memset(&tags, 0, sizeof tags);
    memset(out, 0, sizeof *out);
    int st = check_header(buf, len, &r.be);
    if (st == HCD_OK)
        st = read_ifd(&r, &tags);
    if (st == HCD_OK)
        st = check_pixel_format(&tags, r.be);
    if (st == HCD_OK)
        st = check_coding(&tags, r.be, out);
    if (st == HCD_OK)
        st = check_strips(&tags, r.be, out);
    out->big_endian = r.be;
    return st;
}
