"""Generated H&E-like 96x96 patches in the Kaggle layout, for the demo and the tests.

Colours follow the Beer-Lambert stain model: a pixel is white light absorbed by haematoxylin
(purple-blue, in nuclei) and eosin (pink, in stroma and cytoplasm). Normal tissue has small,
round, evenly stained nuclei; tumour is a region of larger, denser, irregular, hyperchromatic
nuclei with coarse chromatin. A patch is labelled 1 when its centre 32x32 region holds tumour
(the Kaggle / PCam rule), so some negatives hold tumour only in the outer ring.

These are not tissue: scores on them say nothing medical. numpy only (no torch).
"""

from __future__ import annotations

import csv
import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from pathlib import Path

import numpy as np

from hcd_edge.atomic import atomic_text, write_text_atomic
from hcd_edge.errors import DataError
from hcd_edge.score.sources import KAGGLE_LABELS
from hcd_edge.spec import PATCH_SIZE

CENTRE = slice(32, 64)  # the centre 32x32 region that decides the label
INFO_FILE = "synthetic.json"  # written beside train_labels.csv: generator, seed, counts
KAGGLE_DATETIME = "2018:11:15 17:20:38"  # fixed, so one seed always gives the same bytes

# Optical density per unit concentration (R, G, B), after Ruifrok & Johnston's H&E vectors.
HAEMATOXYLIN_OD = np.array([0.65, 0.70, 0.29])
EOSIN_OD = np.array([0.15, 0.80, 0.35])


class PatchKind(IntEnum):
    """What a generated patch holds; the label is 1 exactly for CENTRE."""

    NORMAL = 0  # no tumour
    RING_ONLY = 1  # tumour only outside the centre 32x32 region (label 0)
    CENTRE = 2  # tumour in the centre 32x32 region (label 1)


@dataclass(frozen=True)
class SynthConfig:
    """How often each kind is drawn, and how hard the task is."""

    positive_fraction: float = 0.4  # patches drawn as CENTRE
    ring_fraction: float = 0.3  # of the negatives, drawn as RING_ONLY
    normal_nuclei: tuple[int, int] = (30, 90)  # nuclei per patch outside tumour, min..max

    def __post_init__(self) -> None:
        for name in ("positive_fraction", "ring_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise DataError(f"SynthConfig.{name} must be in [0, 1], got {getattr(self, name)}")


@dataclass(frozen=True)
class SyntheticPatches:
    """Generated patches with their labels, kinds and Kaggle-like ids, index-aligned."""

    pixels: np.ndarray  # (N, 96, 96, 3) uint8 RGB
    labels: np.ndarray  # (N,) int8, 1 when the centre 32x32 holds tumour
    kinds: np.ndarray  # (N,) int8 PatchKind values
    ids: tuple[str, ...]  # 40 hex digits, like Kaggle ids
    masks: np.ndarray | None = None  # (N, 96, 96) bool tumour regions, when asked for

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class SynthResult:
    """What write_synthetic_set wrote."""

    root: Path  # root/train/<id>.tif, root/train_labels.csv, root/synthetic.json
    n: int
    positives: int
    ring_only: int


def patch_id(seed: int, index: int) -> str:
    """The 40-hex id of patch `index` of seed `seed` (stable across runs and n)."""
    return hashlib.sha1(f"hcd-edge-synthetic:{seed}:{index}".encode()).hexdigest()


def generate_patches(n: int, seed: int = 0, config: SynthConfig | None = None, *,
                     start: int = 0, keep_masks: bool = False) -> SyntheticPatches:
    """Patches start..start+n-1 of `seed`; patch i is the same whatever n and start are."""
    if n < 0 or seed < 0:
        raise DataError(f"the number of patches and the seed must be >= 0, got {n} and {seed}")
    config = config or SynthConfig()
    pixels = np.empty((n, PATCH_SIZE, PATCH_SIZE, 3), np.uint8)
    masks = np.empty((n, PATCH_SIZE, PATCH_SIZE), bool)
    for row, index in enumerate(range(start, start + n)):
        rng = np.random.default_rng([seed, index])
        pixels[row], masks[row] = _render_patch(rng, _draw_kind(rng, config), config)
    centre = masks[:, CENTRE, CENTRE].any(axis=(1, 2))
    kinds = np.where(centre, PatchKind.CENTRE,
                     np.where(masks.any(axis=(1, 2)), PatchKind.RING_ONLY, PatchKind.NORMAL))
    ids = tuple(patch_id(seed, i) for i in range(start, start + n))
    return SyntheticPatches(pixels=pixels, labels=np.asarray(centre, np.int8), kinds=np.asarray(kinds, np.int8),
                            ids=ids, masks=masks if keep_masks else None)


def _draw_kind(rng: np.random.Generator, config: SynthConfig) -> PatchKind:
    if rng.random() < config.positive_fraction:
        return PatchKind.CENTRE
    return PatchKind.RING_ONLY if rng.random() < config.ring_fraction else PatchKind.NORMAL


def _render_patch(rng: np.random.Generator, kind: PatchKind,
                  config: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """One patch and its tumour mask (the mask decides the label, not the kind wished for)."""
    mask = _tumour_mask(rng, kind)
    eosin, haem = _stroma(rng)
    haem += 0.18 * mask  # tumour cytoplasm is more basophilic
    _add_nuclei(haem, rng, _normal_nuclei(rng, mask, config))
    if mask.any():
        _add_nuclei(haem, rng, _tumour_nuclei(rng, mask), clip=mask)
    return _stain_to_rgb(rng, haem, eosin), mask


@lru_cache(maxsize=8)
def _upsampler(coarse: int) -> np.ndarray:
    """(96, coarse) linear-interpolation matrix: a coarse grid -> a smooth 96-pixel field."""
    x = np.linspace(0, coarse - 1, PATCH_SIZE)
    lo = np.clip(np.floor(x).astype(int), 0, coarse - 2)
    frac = x - lo
    m = np.zeros((PATCH_SIZE, coarse))
    m[np.arange(PATCH_SIZE), lo] = 1 - frac
    m[np.arange(PATCH_SIZE), lo + 1] = frac
    return m


def _smooth_noise(rng: np.random.Generator, coarse: int) -> np.ndarray:
    """A (96, 96) smooth random field with values of about unit variance."""
    up = _upsampler(coarse)
    return up @ rng.standard_normal((coarse, coarse)) @ up.T


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of every pixel, (96, 96) float each."""
    yy, xx = np.mgrid[0:PATCH_SIZE, 0:PATCH_SIZE].astype(np.float64)
    return yy, xx


def _tumour_mask(rng: np.random.Generator, kind: PatchKind) -> np.ndarray:
    """A boolean (96, 96) irregular tumour region placed for the kind (all False for NORMAL)."""
    if kind is PatchKind.NORMAL:
        return np.zeros((PATCH_SIZE, PATCH_SIZE), bool)
    if kind is PatchKind.CENTRE:
        cy, cx = rng.uniform(30, 66, 2)
        r0 = rng.uniform(10, 70)
    else:
        angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(36, 52)
        cy, cx = 48 + dist * np.sin(angle), 48 + dist * np.cos(angle)
        r0 = rng.uniform(10, 26)
    yy, xx = _grid()
    theta = np.arctan2(yy - cy, xx - cx)
    radius = np.full_like(theta, r0)
    for k in (2, 3, 5):
        radius += r0 * rng.uniform(0, 0.15) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    mask = np.hypot(yy - cy, xx - cx) < radius
    if kind is PatchKind.RING_ONLY:
        mask[CENTRE.start - 3:CENTRE.stop + 3, CENTRE.start - 3:CENTRE.stop + 3] = False
    return mask


def _stroma(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Eosin and haematoxylin concentration fields of the background tissue, with holes."""
    eosin = rng.uniform(0.25, 0.55) * (1 + 0.3 * _smooth_noise(rng, 6))
    eosin *= 1 + 0.1 * np.sin(_grid()[1] * rng.uniform(0.2, 0.6) + 2 * _smooth_noise(rng, 4))
    holes = _smooth_noise(rng, 5) > rng.uniform(1.2, 3.0)  # fat, vessels, tearing: glass
    eosin[holes] *= 0.08
    haem = np.clip(0.05 + 0.04 * _smooth_noise(rng, 8), 0, None)
    return np.clip(eosin, 0, None), haem


@dataclass(frozen=True)
class _Nuclei:
    """Parameters of k nuclei, one row each."""

    centres: np.ndarray  # (k, 2) y, x in pixels
    radii: np.ndarray  # (k, 2) semi-axes in pixels
    angles: np.ndarray  # (k,) radians
    wobble: np.ndarray  # (k,) boundary irregularity, fraction of the radius
    stain: np.ndarray  # (k,) haematoxylin concentration
    chromatin: float  # per-pixel texture amplitude, fraction of the stain


def _normal_nuclei(rng: np.random.Generator, mask: np.ndarray, config: SynthConfig) -> _Nuclei:
    k = int(rng.integers(*config.normal_nuclei, endpoint=True))
    centres = rng.uniform(0, PATCH_SIZE, (k, 2))
    outside = ~mask[centres[:, 0].astype(int), centres[:, 1].astype(int)]
    centres = centres[outside]
    k = len(centres)
    r = rng.uniform(2.0, 3.2, k)
    return _Nuclei(centres, np.stack([r, r * rng.uniform(0.8, 1.0, k)], 1),
                   rng.uniform(0, np.pi, k), rng.uniform(0, 0.05, k), rng.uniform(0.8, 1.2, k), 0.08)


def _tumour_nuclei(rng: np.random.Generator, mask: np.ndarray) -> _Nuclei:
    r_mean = rng.uniform(4.0, 5.5)
    k = max(1, int(mask.sum() * rng.uniform(0.45, 0.75) / (np.pi * r_mean**2)))
    where = np.flatnonzero(mask)
    picks = rng.choice(where, size=k)
    centres = np.stack([picks // PATCH_SIZE, picks % PATCH_SIZE], 1) + rng.uniform(-0.5, 0.5, (k, 2))
    r = np.clip(rng.normal(r_mean, 0.9, k), 3.0, 7.0)
    return _Nuclei(centres, np.stack([r, r * rng.uniform(0.55, 0.95, k)], 1),
                   rng.uniform(0, np.pi, k), rng.uniform(0.08, 0.25, k), rng.uniform(1.3, 1.9, k), 0.2)


def _add_nuclei(haem: np.ndarray, rng: np.random.Generator, nuclei: _Nuclei,
                clip: np.ndarray | None = None) -> None:
    """Paint nuclei into the haematoxylin field in place (max-composited, soft edges)."""
    k = len(nuclei.centres)
    if k == 0:
        return
    half = int(np.ceil(nuclei.radii.max() * 1.3)) + 1
    windows = _nucleus_windows(rng, nuclei, half)
    pad = np.zeros((PATCH_SIZE + 2 * half, PATCH_SIZE + 2 * half))
    tops = np.clip(np.round(nuclei.centres), 0, PATCH_SIZE - 1).astype(int)  # top-left, padded
    for w, (y, x) in zip(windows, tops):
        region = pad[y:y + 2 * half + 1, x:x + 2 * half + 1]
        np.maximum(region, w, out=region)
    painted = pad[half:half + PATCH_SIZE, half:half + PATCH_SIZE]
    if clip is not None:
        painted = painted * clip
    np.maximum(haem, painted, out=haem)


def _nucleus_windows(rng: np.random.Generator, nuclei: _Nuclei, half: int) -> np.ndarray:
    """(k, 2h+1, 2h+1) haematoxylin of each nucleus around its rounded centre."""
    offs = np.arange(-half, half + 1, dtype=np.float32)
    frac = (nuclei.centres - np.clip(np.round(nuclei.centres), 0, PATCH_SIZE - 1)).astype(np.float32)
    dy = offs[None, :, None] - frac[:, 0, None, None]
    dx = offs[None, None, :] - frac[:, 1, None, None]
    cos, sin = np.cos(nuclei.angles).astype(np.float32), np.sin(nuclei.angles).astype(np.float32)
    u = (dx * cos[:, None, None] + dy * sin[:, None, None]) / nuclei.radii[:, 0, None, None].astype(np.float32)
    v = (dy * cos[:, None, None] - dx * sin[:, None, None]) / nuclei.radii[:, 1, None, None].astype(np.float32)
    rho = np.sqrt(u * u + v * v)
    edge = 1 + nuclei.wobble.astype(np.float32)[:, None, None] * _lobes(rng, u / (rho + 1e-6), v / (rho + 1e-6))
    inside = np.clip((edge - rho) * nuclei.radii[:, 1, None, None].astype(np.float32) + 0.5, 0, 1)
    texture = 1 + np.float32(nuclei.chromatin) * rng.standard_normal(inside.shape, dtype=np.float32)
    return inside * nuclei.stain.astype(np.float32)[:, None, None] * texture


def _lobes(rng: np.random.Generator, c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """cos(3 phi + a) + 0.6 cos(5 phi + b) from c = cos phi, s = sin phi (no trig: faster)."""
    a, b = rng.uniform(0, 2 * np.pi, 2)
    c2, s2 = c * c, s * s
    cos3, sin3 = c * (4 * c2 - 3), s * (3 - 4 * s2)
    cos5, sin5 = c * (16 * c2 * c2 - 20 * c2 + 5), s * (16 * s2 * s2 - 20 * s2 + 5)
    return (cos3 * np.cos(a) - sin3 * np.sin(a)) + 0.6 * (cos5 * np.cos(b) - sin5 * np.sin(b))


def _stain_to_rgb(rng: np.random.Generator, haem: np.ndarray, eosin: np.ndarray) -> np.ndarray:
    """Beer-Lambert: white light through the two stains, with per-slide stain variation."""
    h_od = HAEMATOXYLIN_OD * rng.uniform(0.85, 1.15, 3)
    e_od = EOSIN_OD * rng.uniform(0.85, 1.15, 3)
    od = haem.astype(np.float32)[..., None] * h_od.astype(np.float32)
    od += eosin.astype(np.float32)[..., None] * e_od.astype(np.float32)
    light = (rng.uniform(225, 250) * rng.uniform(0.97, 1.03, 3)).astype(np.float32)
    noise = rng.standard_normal(od.shape, dtype=np.float32) * np.float32(rng.uniform(1.5, 4.0))
    rgb = light * np.exp(-od) + noise
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def kaggle_tiff_bytes(pixels: np.ndarray, datetime: str = KAGGLE_DATETIME) -> bytes:
    """A (96, 96, 3) uint8 patch as a TIFF laid out byte-for-byte like the Kaggle files.

    Written by hand because current tifffile adds resolution tags and drops NewSubfileType
    and SampleFormat, giving 27,920 bytes with the strip at 272; the Kaggle files (tifffile,
    2018) have 15 tags and one 27,648-byte strip at offset 287, 27,935 bytes in all.
    """
    if pixels.shape != (PATCH_SIZE, PATCH_SIZE, 3) or pixels.dtype != np.uint8:
        raise DataError(f"a patch must be (96, 96, 3) uint8, got {pixels.shape} {pixels.dtype}")
    if len(datetime) != 19:
        raise DataError(f"TIFF DateTime must be 'YYYY:MM:DD HH:MM:SS', got {datetime!r}")
    return _kaggle_header(datetime) + np.ascontiguousarray(pixels).tobytes()


_DESCRIPTION = b'{"shape": [96, 96, 3]}\x00'
_SOFTWARE = b"tifffile.py\x00"
_BITS_AT, _DESCRIPTION_AT, _SOFTWARE_AT, _DATETIME_AT, _STRIP_AT = 194, 200, 255, 267, 287


def _kaggle_header(datetime: str) -> bytes:
    short, long_, ascii_ = 3, 4, 2
    strip_bytes = PATCH_SIZE * PATCH_SIZE * 3
    tags = [  # (tag, type, count, value or offset), in tag order as TIFF requires
        (254, long_, 1, 0), (256, long_, 1, PATCH_SIZE), (257, long_, 1, PATCH_SIZE),
        (258, short, 3, _BITS_AT), (259, short, 1, 1), (262, short, 1, 2),
        (270, ascii_, len(_DESCRIPTION), _DESCRIPTION_AT), (273, long_, 1, _STRIP_AT),
        (277, short, 1, 3), (278, long_, 1, PATCH_SIZE), (279, long_, 1, strip_bytes),
        (284, short, 1, 1), (305, ascii_, len(_SOFTWARE), _SOFTWARE_AT),
        (306, ascii_, 20, _DATETIME_AT), (339, short, 1, 1),
    ]
    head = bytearray(_STRIP_AT)
    head[0:8] = b"II*\x00" + struct.pack("<I", 8)
    head[8:10] = struct.pack("<H", len(tags))
    for i, (tag, kind, count, value) in enumerate(tags):
        packed = struct.pack("<HH", value, 0) if kind == short and count == 1 else struct.pack("<I", value)
        head[10 + 12 * i:22 + 12 * i] = struct.pack("<HHI", tag, kind, count) + packed
    head[_BITS_AT:_BITS_AT + 6] = struct.pack("<HHH", 8, 8, 8)
    head[_DESCRIPTION_AT:_DESCRIPTION_AT + len(_DESCRIPTION)] = _DESCRIPTION
    head[_SOFTWARE_AT:_SOFTWARE_AT + len(_SOFTWARE)] = _SOFTWARE
    head[_DATETIME_AT:_STRIP_AT] = datetime.encode("ascii") + b"\x00"
    return bytes(head)


def write_synthetic_set(out: Path, n: int, seed: int = 0, *, force: bool = False,
                        config: SynthConfig | None = None, chunk: int = 256,
                        progress: Callable[[int], None] | None = None) -> SynthResult:
    """Write n generated patches to out/train/<id>.tif with out/train_labels.csv.

    Refuses a non-empty `out` unless force (then same-named files are replaced, others kept).
    `progress(k)` is called after each k more patches are written.
    """
    out = Path(out)
    _check_out_dir(out, force)
    (out / "train").mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, int]] = []
    positives = ring = 0
    for start in range(0, n, chunk):
        batch = generate_patches(min(chunk, n - start), seed, config, start=start)
        for pid, img in zip(batch.ids, batch.pixels):
            (out / "train" / f"{pid}.tif").write_bytes(kaggle_tiff_bytes(img))
        rows += zip(batch.ids, batch.labels.tolist())
        positives += int(batch.labels.sum())
        ring += int((batch.kinds == PatchKind.RING_ONLY).sum())
        if progress is not None:
            progress(len(batch))
    _write_labels(out / KAGGLE_LABELS, rows)
    result = SynthResult(root=out, n=n, positives=positives, ring_only=ring)
    _write_info(out / INFO_FILE, result, seed, config or SynthConfig())
    return result


def _check_out_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} exists and is not a folder; choose another output folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DataError(f"{out} is not empty; choose an empty folder, or pass --force to write into it")


def _write_labels(path: Path, rows: list[tuple[str, int]]) -> None:
    with atomic_text(path) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["id", "label"])
        writer.writerows(rows)


def _write_info(path: Path, result: SynthResult, seed: int, config: SynthConfig) -> None:
    info = {
        "generator": "hcd_edge.synthetic",
        "note": "generated H&E-like patches, not tissue: scores on them are not medical results",
        "seed": seed,
        "n": result.n,
        "positives": result.positives,
        "ring_only_negatives": result.ring_only,
        "config": {"positive_fraction": config.positive_fraction,
                   "ring_fraction": config.ring_fraction,
                   "normal_nuclei": list(config.normal_nuclei)},
    }
    write_text_atomic(path, json.dumps(info, indent=2) + "\n")
