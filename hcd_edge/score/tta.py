"""Test-time augmentation: the 2 flips or 8 dihedral transforms of a patch, made in the slot buffer.

A slot holding k decoded patches in rows [0, k) is expanded in place so that rows
[t*k, (t+1)*k) hold transform t of those patches (transform 0 is the identity); the engine
scores all T*k rows in one batch and the probabilities of each patch are averaged over T.
Transforms act on the two spatial axes, so they work for planar NCHW floats and interleaved
NHWC uint8 alike.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from hcd_edge.spec import Layout


class Tta(str, Enum):
    """Which transforms of each patch are scored and averaged."""

    NONE = "none"  # the patch as decoded
    FLIP = "flip"  # identity + horizontal mirror
    DIHEDRAL = "dihedral"  # 4 rotations x {identity, mirror}: the 8 symmetries of a square

    @property
    def transforms(self) -> int:
        """Number of transforms scored per patch (1, 2 or 8)."""
        return {Tta.NONE: 1, Tta.FLIP: 2, Tta.DIHEDRAL: 8}[self]


def spatial_axes(layout: Layout) -> tuple[int, int]:
    """(row axis, column axis) of a batch array in this layout."""
    return (1, 2) if layout is Layout.NHWC else (2, 3)


def transform(patches: np.ndarray, index: int, layout: Layout) -> np.ndarray:
    """Dihedral transform `index` (0-7) of a batch: rotate by 90*(index % 4) deg, mirror if index >= 4.

    FLIP uses indices 0 and 4 (identity and mirror). Returns a view; copy it before writing.
    """
    rows, cols = spatial_axes(layout)
    out = np.flip(patches, axis=cols) if index >= 4 else patches
    return np.rot90(out, k=index % 4, axes=(rows, cols))


def transform_indices(mode: Tta) -> tuple[int, ...]:
    """The dihedral indices a mode scores, identity first."""
    return {Tta.NONE: (0,), Tta.FLIP: (0, 4), Tta.DIHEDRAL: tuple(range(8))}[mode]


def expand_in_place(host: np.ndarray, k: int, mode: Tta, layout: Layout) -> int:
    """Write the transforms of host[:k] into host[t*k:(t+1)*k]; returns the rows used (T*k)."""
    indices = transform_indices(mode)
    if len(indices) * k > len(host):
        raise ValueError(f"{len(indices)} transforms of {k} patches need {len(indices) * k} rows, "
                         f"the slot holds {len(host)}")
    source = host[:k]
    for t, index in enumerate(indices[1:], start=1):
        host[t * k : (t + 1) * k] = transform(source, index, layout)
    return len(indices) * k


def average(probabilities: np.ndarray, k: int, mode: Tta) -> np.ndarray:
    """Mean probability per patch of T*k rows laid out transform-major; float64, shape (k,)."""
    count = mode.transforms
    p = np.asarray(probabilities, dtype=np.float64)[: count * k]
    if count == 1:
        return p
    return p.reshape(count, k).mean(axis=0)
