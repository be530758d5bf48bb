"""Which patches calibrate and which validate a build, and decoding them with the model's spec.

Patches are ordered by the SHA-256 of their id, so the split does not depend on how a file
system lists a folder and repeats exactly on every run and machine. Without --val, the last
patches in that order are held back for the parity gate and never calibrate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hcd_edge.decode import decode_batch, status_message
from hcd_edge.errors import DataError
from hcd_edge.labelled.sets import open_labelled
from hcd_edge.score.sources import PatchRef, PatchSet
from hcd_edge.spec import PreprocessSpec

DECODE_CHUNK = 64  # patches decoded per call: bounded memory, enough work per call for threads


@dataclass(frozen=True)
class PatchPlan:
    """Calibration and validation patches of one build (disjoint)."""

    calib_refs: tuple[PatchRef, ...] = ()
    calib_source: str = ""
    val_refs: tuple[PatchRef, ...] = ()
    val_labels: np.ndarray | None = None  # int8 aligned with val_refs, None when unlabelled
    val_source: str = ""
    val_recipe: dict = field(default_factory=dict)  # how to draw the same set again


@dataclass
class DecodedSet:
    """Decoded patches in the spec layout, and the files that could not be decoded."""

    inputs: np.ndarray  # spec.input_shape(count), spec dtype
    kept: np.ndarray  # indices into the refs of the decoded rows
    skipped: list[str]  # "path: reason" of each unreadable file

    @property
    def count(self) -> int:
        """Number of decoded patches."""
        return len(self.kept)


def hash_order(refs: Sequence[PatchRef]) -> list[int]:
    """Indices of refs sorted by SHA-256 of the patch id (ties by path)."""
    keys = [(hashlib.sha256(r.id.encode("utf-8")).hexdigest(), str(r.path)) for r in refs]
    return sorted(range(len(refs)), key=keys.__getitem__)


def plan_patches(
    calib: Path | PatchSet | None, val: Path | None, calib_n: int, val_n: int
) -> PatchPlan:
    """Draw calibration (<= calib_n) and validation (<= val_n) patches; disjoint by path."""
    calib_set = _open(calib, "--calib") if calib is not None else None
    if val is None and calib is not None and calib_set is not None:
        return _split_one_source(calib_set, calib, calib_n, val_n)
    calib_refs: tuple[PatchRef, ...] = ()
    if calib_set is not None:
        calib_refs = tuple(calib_set.refs[i] for i in hash_order(calib_set.refs)[:calib_n])
    if val is None:
        return PatchPlan(calib_refs=calib_refs, calib_source=calib_set.source if calib_set else "")
    val_set = _open(val, "--val")
    taken = {r.path for r in calib_refs}
    order = [i for i in hash_order(val_set.refs) if val_set.refs[i].path not in taken][:val_n]
    return PatchPlan(
        calib_refs=calib_refs,
        calib_source=calib_set.source if calib_set else "",
        val_refs=tuple(val_set.refs[i] for i in order),
        val_labels=None if val_set.labels is None else val_set.labels[order],
        val_source=val_set.source,
        val_recipe=recipe(calib, val, calib_n, val_n),
    )


def _split_one_source(
    patches: PatchSet, path: Path | PatchSet, calib_n: int, val_n: int
) -> PatchPlan:
    order = hash_order(patches.refs)
    total = len(order)
    n_val = min(val_n, max(total - calib_n, total // 4))
    n_calib = min(calib_n, total - n_val)
    calib_idx, val_idx = order[:n_calib], order[total - n_val :]
    return PatchPlan(
        calib_refs=tuple(patches.refs[i] for i in calib_idx),
        calib_source=patches.source,
        val_refs=tuple(patches.refs[i] for i in val_idx),
        val_labels=None if patches.labels is None else patches.labels[val_idx],
        val_source=f"{patches.source}, {n_val} patches held back from calibration",
        val_recipe=recipe(path, None, calib_n, val_n),
    )


def redraw_validation(recipe: dict) -> PatchPlan | None:
    """The validation set a recipe describes, or None when its patches are not on this machine."""
    calib = Path(recipe["calib"]) if recipe.get("calib") else None
    val = Path(recipe["val"]) if recipe.get("val") else None
    where = val if val is not None else calib
    if where is None or not where.exists():
        return None
    if val is not None and calib is not None and not calib.exists():
        calib = None  # the calibration patches stayed behind; only the exclusion is lost
    plan = plan_patches(calib, val, int(recipe["calib_n"]), int(recipe["val_n"]))
    return PatchPlan(
        val_refs=plan.val_refs,
        val_labels=plan.val_labels,
        val_source=plan.val_source,
        val_recipe=plan.val_recipe,
    )


def recipe(calib: Path | PatchSet | None, val: Path | None, calib_n: int, val_n: int) -> dict:
    """How to draw the same validation set again (paths resolved; None for in-memory patches)."""
    # Patches handed over in memory (the default engine's) cannot be drawn again from a path.
    where = None if calib is None or isinstance(calib, PatchSet) else str(Path(calib).resolve())
    return {
        "calib": where,
        "val": str(Path(val).resolve()) if val is not None else None,
        "calib_n": calib_n,
        "val_n": val_n,
    }


def iter_decoded(
    refs: Sequence[PatchRef], spec: PreprocessSpec, threads: int | None, chunk: int = DECODE_CHUNK
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(start, inputs, statuses) per chunk of refs, decoded into the spec layout and dtype."""
    for start in range(0, len(refs), chunk):
        part = refs[start : start + chunk]
        out = np.empty(spec.input_shape(len(part)), dtype=spec.numpy_dtype)
        statuses = decode_batch(
            [r.path for r in part], out, mean=spec.mean, std=spec.std, threads=threads
        )
        yield start, out, statuses


def decode_all(
    refs: Sequence[PatchRef], spec: PreprocessSpec, threads: int | None, progress, task: str
) -> DecodedSet:
    """Decode every ref (progress under `task`); unreadable files are skipped and listed."""
    rows: list[np.ndarray] = []
    kept: list[int] = []
    skipped: list[str] = []
    progress.start(task, len(refs))
    try:
        for start, out, statuses in iter_decoded(refs, spec, threads):
            ok = np.flatnonzero(statuses == 0)
            rows.append(out[ok])
            kept.extend((start + ok).tolist())
            skipped += [
                f"{refs[start + int(i)].path}: {status_message(int(statuses[i]))}"
                for i in np.flatnonzero(statuses != 0)
            ]
            progress.advance(task, len(out))
    finally:
        progress.finish(task)
    inputs = np.concatenate(rows) if rows else np.empty(spec.input_shape(0), spec.numpy_dtype)
    return DecodedSet(inputs=inputs, kept=np.asarray(kept, dtype=np.int64), skipped=skipped)


def _open(path: Path | PatchSet, option: str) -> PatchSet:
    patches = path if isinstance(path, PatchSet) else open_labelled(path)
    if len(patches) == 0:
        raise DataError(f"{option} {path} holds no patches (.tif/.tiff files or a list of paths)")
    return patches
