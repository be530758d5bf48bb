"""uint8 RGB patches held in memory -> the engine's input rows, with the TIFF path's exact math.

Each value is ((pixel / 255) - mean) / std in three float32 operations, numpy's order, as in
csrc/normalize.c (hcd_lut_init) and the tifffile fallback of hcd_edge.decode: a 256-entry
table per channel makes it a lookup, so slide patches and patch files give identical bits.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hcd_edge.spec import Layout, PreprocessSpec


@lru_cache(maxsize=8)
def channel_tables(mean: tuple[float, ...], std: tuple[float, ...], dtype: str) -> np.ndarray:
    """(3, 256) table of the normalized value of every pixel value per channel, in `dtype`."""
    values = np.arange(256, dtype=np.float32)[None, :] / np.float32(255.0)
    m = np.asarray(mean, dtype=np.float32)[:, None]
    s = np.asarray(std, dtype=np.float32)[:, None]
    with np.errstate(over="ignore"):  # float16 rounds values past 65504 to inf, as the C side
        table = ((values - m) / s).astype(dtype)
    table.setflags(write=False)
    return table


def normalize_patches(pixels: np.ndarray, out: np.ndarray, spec: PreprocessSpec) -> None:
    """Write n uint8 (n, 96, 96, 3) RGB patches into out[:n] in the spec's layout and dtype."""
    n = len(pixels)
    if spec.layout is Layout.NHWC:
        out[:n] = pixels
        return
    table = channel_tables(tuple(spec.mean), tuple(spec.std), spec.dtype)
    for c in range(3):
        np.take(table[c], pixels[..., c], out=out[:n, c], mode="clip")  # no bounds buffer
