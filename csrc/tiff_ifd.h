/* Classic-TIFF first-IFD parser: the layout of one 96x96 RGB 8-bit image, fully bounds-checked. */
#ifndef HCD_TIFF_IFD_H
#define HCD_TIFF_IFD_H

#include <stddef.h>
#include <stdint.h>

enum { HCD_COMPRESSION_NONE = 1, HCD_COMPRESSION_LZW = 5, HCD_COMPRESSION_ADOBE_DEFLATE = 8,
       HCD_COMPRESSION_PACKBITS = 32773, HCD_COMPRESSION_DEFLATE = 32946 };

/* Strip offsets and byte counts stay in the file buffer; this says how to read entry i. */
typedef struct {
    const uint8_t *at; /* first value, inside the file buffer */
    uint32_t count;
    uint16_t type; /* 3 SHORT or 4 LONG */
} hcd_array_ref;

/* What hcd_parse_ifd learned: an image the decoder can produce without tifffile. */
typedef struct {
    int big_endian;
    uint16_t compression;
    uint16_t predictor;   /* 1 none, 2 horizontal */
    uint16_t planar;      /* 1 contiguous (RGBRGB...), 2 separate planes */
    uint32_t rows_per_strip;
    uint32_t strips;      /* strips per plane * planes */
    hcd_array_ref offsets;
    hcd_array_ref counts;
} hcd_layout;

/* Parse the first IFD of buf[0:len] into *out. Returns HCD_OK, an error hcd_status, or
 * HCD_NEEDS_FALLBACK for a TIFF this parser does not handle but tifffile may. */
int hcd_parse_ifd(const uint8_t *buf, size_t len, hcd_layout *out);

/* Entry i (< ref->count) of a SHORT/LONG array, in the file's byte order. */
uint32_t hcd_array_get(const hcd_array_ref *ref, int big_endian, uint32_t i);

#endif
