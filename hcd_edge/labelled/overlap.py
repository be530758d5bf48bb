"""Patches shared with the model's recorded training split (train's runs/NAME/split/*.csv).

A model records where its split lists are in its provenance (`run`: the run folder, or
`split.lists`: {name: csv}); an ONNX file kept in its run folder is found by its neighbour
split/. Lists are read by id (column `id`, else the file name of column `path`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hcd_edge.score.sources import PatchRef, patch_ref

SPLIT_DIR = "split"
# list name -> what its patches did for the model
ROLES = {"train": "trained the model", "select": "chose its best epoch and threshold"}


@dataclass(frozen=True)
class Overlap:
    """How many of the checked patches one training-split list holds."""

    name: str  # "train" or "select"
    list_file: Path
    count: int
    total: int

    def warning(self, what: str) -> str:
        """One line naming the count, e.g. for `build-engine --val` or `evaluate`."""
        role = ROLES.get(self.name, f"are in its {self.name} split")
        return (f"warning: {self.count:,} of {self.total:,} {what} patches are in the model's "
                f"{self.name} split,\n  which {role} ({self.list_file}):\n  measures on them "
                "are optimistic; use patches it never saw (e.g. from `hcd-edge split`)")


def recorded_provenance(target: Path) -> tuple[dict, Path | None]:
    """(the model's provenance, its ONNX file) for an engine folder or an .onnx file; ({}, None)
    when neither records one."""
    from hcd_edge.errors import HcdEdgeError
    from hcd_edge.manifest import read_manifest
    from hcd_edge.model_info import ModelInfo, read_props

    target = Path(target)
    try:
        if target.is_dir():
            manifest = read_manifest(target)
            provenance = manifest.model.get("provenance") if isinstance(manifest.model, dict) else None
            return (provenance if isinstance(provenance, dict) else {}), Path(manifest.source_onnx)
        return ModelInfo.from_props(read_props(target), str(target)).provenance, target
    except HcdEdgeError:
        return {}, None


def split_lists(provenance: dict, model_file: Path | None = None) -> dict[str, Path]:
    """{name: csv} of the model's recorded split lists that exist on this machine."""
    found: dict[str, Path] = {}
    split = provenance.get("split") if isinstance(provenance.get("split"), dict) else {}
    listed = split.get("lists") if isinstance(split, dict) else None
    if isinstance(listed, dict):
        found.update({str(k): Path(v) for k, v in listed.items() if isinstance(v, str)})
    folders = [Path(provenance["run"]) / SPLIT_DIR] if isinstance(provenance.get("run"), str) else []
    if model_file is not None:
        folders.append(Path(model_file).parent / SPLIT_DIR)
    for folder in folders:
        for name in ROLES:
            found.setdefault(name, folder / f"{name}.csv")
    return {name: path for name, path in found.items() if name in ROLES and path.is_file()}


def list_ids(list_file: Path) -> set[str]:
    """The patch ids of a split list (column `id`, else the file names of column `path`)."""
    try:
        with open(list_file, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError):
        return set()
    if not rows:
        return set()
    header = [h.strip().lower() for h in rows[0]]
    if "id" in header:
        col = header.index("id")
        return {r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()}
    col = header.index("path") if "path" in header else 0
    body = rows[1:] if "path" in header else rows
    return {patch_ref(r[col].strip()).id for r in body if len(r) > col and r[col].strip()}


def training_overlap(refs: Iterable[PatchRef], provenance: dict,
                     model_file: Path | None = None) -> list[Overlap]:
    """The non-empty overlaps of refs with each recorded split list (train first)."""
    lists = split_lists(provenance, model_file)
    if not lists:
        return []
    ids = [r.id for r in refs]
    found = []
    for name in ROLES:
        if name in lists:
            shared = list_ids(lists[name])
            count = sum(i in shared for i in ids)
            if count:
                found.append(Overlap(name, lists[name], count, len(ids)))
    return found
