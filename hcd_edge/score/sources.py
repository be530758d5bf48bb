"""Where patches come from: folders, files and path lists -> sorted (id, path) refs, labels."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hcd_edge.errors import DataError

PATCH_SUFFIXES = (".tif", ".tiff")
LIST_SUFFIXES = (".txt", ".csv", ".lst")
KAGGLE_LABELS = "train_labels.csv"


@dataclass(frozen=True, order=True)
class PatchRef:
    """One input patch: its path (sort key) and its id (file name without extension)."""

    path: Path
    id: str


@dataclass(frozen=True)
class PatchSet:
    """An ordered set of patches, with labels (0/1, aligned with refs) when the source has them."""

    refs: tuple[PatchRef, ...]
    labels: np.ndarray | None  # int8, len(refs); None when the source has no labels
    source: str  # human description, e.g. "kaggle layout /data (train_labels.csv)"

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def paths(self) -> list[Path]:
        """The patch paths in order."""
        return [r.path for r in self.refs]


def sort_key(ref: PatchRef) -> tuple[tuple[str, ...], str]:
    """The PatchRef order (path, then id) as a cheap tuple: Path comparisons cost ~2x more."""
    return ref.path.parts, ref.id


def patch_ref(path: str | os.PathLike) -> PatchRef:
    """The PatchRef of one path: id is the file name without its extension."""
    p = path if isinstance(path, Path) else Path(path)  # re-parsing a Path costs ~5 us
    name = p.name
    return PatchRef(path=p, id=name.rsplit(".", 1)[0] if "." in name else name)


def collect_patches(inputs: Sequence[str | os.PathLike], *, recursive: bool = False) -> list[PatchRef]:
    """Expand folders, patch files and list files into PatchRefs sorted by path.

    Entries named like patches are kept even when they are directories or broken links, so
    the caller reports them instead of silently dropping them. Raises DataError for an input
    that does not exist or a list file that cannot be read.
    """
    refs: set[PatchRef] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            refs.update(patch_ref(q) for q in _walk_patch_names(p, recursive))
        elif p.suffix.lower() in LIST_SUFFIXES and p.is_file():
            refs.update(patch_ref(q) for q in read_path_list(p))
        elif p.suffix.lower() in PATCH_SUFFIXES or p.is_file() or p.is_symlink():
            refs.add(patch_ref(p))
        elif p.exists():
            raise DataError(f"input {p} is not a folder, a patch or a path list file (a FIFO or "
                            "device?); give regular files or folders")
        else:
            raise DataError(f"input {p} does not exist")
    return sorted(refs, key=sort_key)


def _walk_patch_names(folder: Path, recursive: bool) -> Iterable[Path]:
    if not recursive:
        with os.scandir(folder) as entries:  # names first: one Path per patch, not per entry
            return [folder / e.name for e in entries if e.name.lower().endswith(PATCH_SUFFIXES)]
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        names = files + [d for d in dirs if d.lower().endswith(PATCH_SUFFIXES)]
        found.extend(Path(root) / n for n in names if n.lower().endswith(PATCH_SUFFIXES))
        dirs[:] = [d for d in dirs if not d.lower().endswith(PATCH_SUFFIXES)]
    return found


def read_path_list(list_file: Path) -> list[Path]:
    """Paths listed one per line, or in a CSV column `path` (else the first column).

    Relative paths are taken relative to the list file's folder; blank lines and lines
    starting with '#' are ignored.
    """
    try:
        text = list_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read path list {list_file}: {exc}") from exc
    rows = [r for r in csv.reader(text.splitlines()) if r and not r[0].lstrip().startswith("#")]
    if not rows:
        return []
    column = 0
    if "path" in [c.strip().lower() for c in rows[0]]:
        column = [c.strip().lower() for c in rows[0]].index("path")
        rows = rows[1:]
    base = list_file.parent
    return [_resolve(base, row[column].strip()) for row in rows if len(row) > column and row[column].strip()]


def _resolve(base: Path, text: str) -> Path:
    return Path(text) if os.path.isabs(text) else base / text


def read_labels_csv(csv_path: Path) -> dict[str, int]:
    """Kaggle-style `id,label` CSV -> {id: 0|1}; DataError names the file and line of a bad row."""
    try:
        fh = open(csv_path, newline="", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise DataError(f"cannot open label file {csv_path}: {exc}") from exc
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["id", "label"]:
            raise DataError(f"{csv_path}:1: expected the header 'id,label', got {header!r}")
        labels: dict[str, int] = {}
        for line_no, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            pid = _row_id(row, csv_path, line_no)  # first: it checks the row has two columns
            labels[pid] = _row_label(row, csv_path, line_no)
    return labels


def _row_id(row: list[str], csv_path: Path, line_no: int) -> str:
    if len(row) < 2 or not row[0].strip():
        raise DataError(f"{csv_path}:{line_no}: expected 'id,label', got {','.join(row)!r}")
    return row[0].strip()


def _row_label(row: list[str], csv_path: Path, line_no: int) -> int:
    value = row[1].strip()
    if value not in ("0", "1"):
        raise DataError(f"{csv_path}:{line_no}: label must be 0 or 1, got {value!r}")
    return int(value)


def open_patch_set(path: str | os.PathLike, *, recursive: bool = False) -> PatchSet:
    """A labelled or unlabelled PatchSet from a Kaggle folder, class folders 0/ and 1/,
    a plain folder of patches, one patch file, or a list file."""
    p = Path(path)
    if p.is_dir() and (p / KAGGLE_LABELS).is_file():
        return _kaggle_set(p)
    if p.is_dir() and (p / "0").is_dir() and (p / "1").is_dir():
        return _class_folder_set(p)
    refs = collect_patches([p], recursive=recursive)
    return PatchSet(refs=tuple(refs), labels=None, source=f"patches {p}")


def _kaggle_set(folder: Path) -> PatchSet:
    labels = read_labels_csv(folder / KAGGLE_LABELS)
    image_dir = folder / "train" if (folder / "train").is_dir() else folder
    refs = sorted((patch_ref(image_dir / f"{pid}.tif") for pid in labels), key=sort_key)
    missing = [r.path for r in refs if not r.path.exists()]
    if missing:
        raise DataError(
            f"{folder / KAGGLE_LABELS} lists {len(missing)} patches that do not exist, "
            f"e.g. {missing[0]}"
        )
    y = np.array([labels[r.id] for r in refs], dtype=np.int8)
    return PatchSet(refs=tuple(refs), labels=y, source=f"kaggle layout {folder} ({KAGGLE_LABELS})")


def _class_folder_set(folder: Path) -> PatchSet:
    pairs = []
    for label in (0, 1):
        pairs += [(ref, label) for ref in collect_patches([folder / str(label)])]
    pairs.sort()
    refs = tuple(r for r, _ in pairs)
    y = np.array([lab for _, lab in pairs], dtype=np.int8)
    return PatchSet(refs=refs, labels=y, source=f"class folders {folder}/0 and {folder}/1")
