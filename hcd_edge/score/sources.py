"""Where patches come from: folders, files and path lists -> sorted path strings, ids, labels.

Scoring lists hundreds of thousands of inputs, so listing works on plain strings: one
`os.scandir` per folder (names sorted per folder, which is already path order), list files
read in chunks, and one sort of strings only when several sources are merged. Paths are kept
as the OS gives them (`str`, undecodable bytes as surrogate escapes), so every name the OS
can hold reaches the decoder; ids are derived from them per batch, never stored for all.

Rules: an argument or entry named like a patch (.tif/.tiff) is a patch input whatever it is
on disk (a directory so named gets its error row, at the top level as inside a folder); other
folders are listed (subfolders with --recursive); .txt/.lst files list one path per line and
.csv files one path per row (a `path` column, else the first); a Kaggle labels CSV (header
`id,label`) stands for the patches it names, `train/ID.tif` beside it; anything else that
exists is a patch.
"""

from __future__ import annotations

import operator
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np

from hcd_edge.errors import DataError

PATCH_SUFFIXES = (".tif", ".tiff")
LIST_SUFFIXES = (".txt", ".csv", ".lst")
KAGGLE_LABELS = "train_labels.csv"
LIST_CHUNK_BYTES = 1 << 20  # a list file is read this much at a time
_PROBE_ROWS = 10  # a list is refused when none of its first rows names a patch


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


class FolderPaths(Sequence[str]):
    """The paths of names in one folder, held as the folder prefix and the names.

    A sequence of path strings that stores each name once, not prefix + name: for 300,000
    patches in one folder that is ~10 MB less (the prefix's characters per input), which is
    what keeps a large run's peak memory near a small one's (benchmarks/end_to_end.py).
    """

    __slots__ = ("names", "prefix")

    def __init__(self, prefix: str, names: list[str]):
        self.prefix, self.names = prefix, names

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index):  # int -> str, slice -> list[str]
        if isinstance(index, slice):
            return [self.prefix + n for n in self.names[index]]
        return self.prefix + self.names[index]

    def __iter__(self) -> Iterator[str]:
        prefix = self.prefix
        return (prefix + n for n in self.names)

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return f"FolderPaths({self.prefix!r}, {len(self.names)} names)"


@dataclass(frozen=True)
class InputPaths:
    """The inputs of a run: unique path strings in path order (component by component)."""

    paths: Sequence[str]  # a list, or FolderPaths for the patches of one folder
    ids_unique: bool  # known without looking: one folder, one suffix (else check_duplicates)

    def __len__(self) -> int:
        return len(self.paths)


def sort_key(ref: PatchRef) -> tuple[tuple[str, ...], str]:
    """The PatchRef order (path, then id) as a cheap tuple: Path comparisons cost ~2x more."""
    return ref.path.parts, ref.id


def patch_id(path: str) -> str:
    """The id of a patch path: its file name without the extension."""
    name = path.rpartition("/")[2]
    return name.rpartition(".")[0] if "." in name else name


def patch_ref(path: str | os.PathLike) -> PatchRef:
    """The PatchRef of one path: id is the file name without its extension."""
    p = path if isinstance(path, Path) else Path(path)  # re-parsing a Path costs ~5 us
    name = p.name
    return PatchRef(path=p, id=name.rsplit(".", 1)[0] if "." in name else name)


def collect_patches(inputs: Sequence[str | os.PathLike], *, recursive: bool = False) -> list[PatchRef]:
    """Expand folders, patch files and list files into PatchRefs sorted by path (see list_inputs)."""
    return [patch_ref(p) for p in list_inputs(inputs, recursive=recursive).paths]


def list_inputs(inputs: Sequence[str | os.PathLike], *, recursive: bool = False) -> InputPaths:
    """Expand folders, patch files and list files into unique path strings in path order.

    Entries named like patches are kept even when they are directories or broken links, so
    the caller reports them instead of silently dropping them. Raises DataError for an input
    that does not exist, a list file that cannot be read or whose rows are not paths.
    """
    sources = [_expand(os.fspath(item), recursive) for item in inputs]
    if len(sources) == 1 and sources[0][1]:
        return _described(sources[0][0])
    only = sources[0][0] if len(sources) == 1 else None
    if isinstance(only, FolderPaths):  # a list file of one folder
        sources.clear()
        return _described(_sorted_unique_names(only))
    merged = [p for paths, _ in sources for p in paths]
    sources.clear()  # each path held once, by merged
    return _described(_sorted_unique(merged))


def _sorted_unique_names(paths: FolderPaths) -> FolderPaths:
    """One folder's paths in path order without repeats: its names sorted as strings."""
    return FolderPaths(paths.prefix, _sorted_strings(paths.names))


def _expand(item: str, recursive: bool) -> tuple[Sequence[str], bool]:
    """(paths, already sorted and unique) of one argument."""
    lowered = item.lower()
    if lowered.endswith(PATCH_SUFFIXES):
        return [_normal(item)], True
    if os.path.isdir(item):
        return _walk(_normal(item), recursive), True
    if lowered.endswith(LIST_SUFFIXES) and os.path.isfile(item):
        return read_list_paths(item), False
    if os.path.lexists(item):
        _refuse_special(item)
        return [_normal(item)], True
    raise DataError(f"input {item} does not exist")


def _refuse_special(item: str) -> None:
    """DataError for an argument that is a FIFO, socket or device: reading it could block."""
    try:
        mode = os.stat(item).st_mode
    except OSError:
        return  # a dangling link: its row says it cannot be read
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket or device"
        raise DataError(f"input {item} is {kind}, not a folder, a patch or a path list file; "
                        "give regular files or folders")


def _normal(path: str) -> str:
    """The path as pathlib spells it (no '.' parts, no doubled or trailing slashes)."""
    return str(Path(path))


def _walk(folder: str, recursive: bool) -> Sequence[str]:
    """Patch paths under folder in path order: names sorted per folder, subfolders in place."""
    prefix = "" if folder == "." else folder.rstrip("/") + "/"
    names = os.listdir(folder)  # names only: no object, no stat per entry
    patches = names if _all_patch_names(names) else [n for n in names if _is_patch_name(n)]
    folders = []
    if recursive and len(patches) < len(names):
        folders = [n for n in names if not _is_patch_name(n) and _is_folder(prefix + n)]
    if not folders:
        patches.sort()
        return FolderPaths(prefix, patches)
    found: list[str] = []
    for name in sorted(patches + folders):
        if _is_patch_name(name):
            found.append(prefix + name)
        else:
            found += _walk(prefix + name, recursive)
    return found


def _all_patch_names(names: list[str]) -> bool:
    """True when every name ends in .tif or .tiff (the usual folder), checked in two C calls."""
    joined = "\0".join(names) + "\0"  # a name never holds NUL
    return joined.count(".tif\0") + joined.count(".tiff\0") == len(names)


def _is_patch_name(name: str) -> bool:
    return name.endswith(PATCH_SUFFIXES) or name.lower().endswith(PATCH_SUFFIXES)


def _is_folder(path: str) -> bool:
    """A real folder (not a link to one: links to folders are not followed, as os.walk)."""
    return os.path.isdir(path) and not os.path.islink(path)


def _sorted_unique(paths: list[str]) -> list[str]:
    """paths in path order without repeats: a plain string sort, fixed up only when needed."""
    paths = _sorted_strings(paths)
    if not _one_folder(paths) and not _in_path_order(paths):
        paths.sort(key=_component_key)
    return paths


def _sorted_strings(strings: list[str]) -> list[str]:
    """strings sorted in place, repeats dropped (a new list only when there are some)."""
    strings.sort()
    if len(strings) > 1 and any(map(operator.eq, strings, islice(strings, 1, None))):
        strings = list(dict.fromkeys(strings))
    return strings


def _component_key(path: str) -> str:
    # '/' sorts before every character a name can hold: strings compare part by part
    return path.replace("/", "\0")


def _in_path_order(paths: list[str]) -> bool:
    keys = map(_component_key, paths)
    return all(map(operator.le, keys, map(_component_key, islice(paths, 1, None))))


def _one_folder(paths: Sequence[str], chunk: int = 8192) -> bool:
    """True when every path (sorted as strings) lies directly in the folder of the first."""
    if not paths:
        return True
    folder = paths[0][: paths[0].rfind("/") + 1]
    if not paths[-1].startswith(folder):
        return False  # sorted: all between share the prefix of the first and the last
    depth = folder.count("/")
    return all("".join(paths[i : i + chunk]).count("/") == depth * len(paths[i : i + chunk])
               for i in range(0, len(paths), chunk))


def _described(paths: Sequence[str]) -> InputPaths:
    one_folder = isinstance(paths, FolderPaths) or _one_folder(paths)  # names hold no '/'
    return InputPaths(paths, ids_unique=one_folder and _one_suffix(paths))


def _one_suffix(paths: Sequence[str], chunk: int = 8192) -> bool:
    if isinstance(paths, FolderPaths):
        paths = paths.names  # same suffixes, without building each path
    if not paths:
        return True
    suffix = "." + paths[0].rpartition(".")[2]
    if "/" in suffix:
        return False
    return all(("\n".join(paths[i : i + chunk]) + "\n").count(suffix + "\n") == len(paths[i : i + chunk])
               for i in range(0, len(paths), chunk))


def check_duplicates(paths: Sequence[str]) -> list[tuple[int, int]]:
    """(position, position of the earlier path with the same id) of every repeated id."""
    first: dict[str, int] = {}
    repeats = []
    for position, pid in enumerate(map(patch_id, paths)):
        kept = first.setdefault(pid, position)
        if kept != position:
            repeats.append((position, kept))
    return repeats


# -- list files --------------------------------------------------------------------------------

def read_path_list(list_file: Path) -> list[Path]:
    """Paths listed one per line, or in a CSV column `path` (else the first column), as Paths."""
    return [Path(p) for p in read_list_paths(os.fspath(list_file))]


def read_list_paths(list_file: str) -> Sequence[str]:
    """The path strings of a list file, in its order (see the module rules), read in chunks.

    Relative paths are taken relative to the list file's folder; blank lines and lines
    starting with '#' are ignored; a UTF-8 byte order mark is skipped; bytes that are not
    UTF-8 are kept as the OS would name them.
    """
    try:
        with open(list_file, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
            if list_file.lower().endswith(".csv"):
                entries = _csv_entries(fh, list_file)
            else:
                entries = _line_entries(fh)
            collected = _Collected()
            collected.add(_probed(entries, list_file))
            base = os.path.dirname(list_file) or "."
            for chunk in entries:
                collected.add(_resolved(base, iter([chunk])))
    except OSError as exc:
        raise DataError(f"cannot read path list {list_file}: {exc}") from exc
    return collected.paths()


class _Collected:
    """A list file's paths gathered chunk by chunk, as one folder's bare names while every path
    so far lies in that folder (the usual list: ~40% less memory at its peak), else in full."""

    def __init__(self) -> None:
        self.prefix: str | None = None
        self.names: list[str] = []
        self.full: list[str] | None = None

    def add(self, paths: list[str]) -> None:
        """Append a chunk of paths (in the list's order)."""
        if self.full is not None:
            self.full += paths
            return
        if self.prefix is None and paths:
            self.prefix = paths[0][: paths[0].rfind("/") + 1]
        prefix = self.prefix or ""
        names = _names_in(prefix, paths)
        if names is not None:
            self.names += names
        else:
            self.full = [prefix + n for n in self.names] + paths
            self.names = []

    def paths(self) -> Sequence[str]:
        """FolderPaths (names in the list's order) or a list of full path strings."""
        if self.full is not None:
            return self.full
        return FolderPaths(self.prefix or "", self.names)


def _names_in(prefix: str, paths: list[str]) -> list[str] | None:
    """The names of paths that all lie directly in the folder `prefix` (ends in '/'), else None.

    String-wide operations instead of one Python step per path: a list file of 300,000 paths
    is read before the first patch is decoded.
    """
    if not paths:
        return []
    joined = "\n" + "\n".join(paths)
    if joined.count("\n") != len(paths) or joined.count("\n" + prefix) != len(paths):
        return None  # a path holds a newline, or one lies elsewhere
    rest = joined.replace("\n" + prefix, "\n") if prefix else joined
    return None if "/" in rest else rest[1:].split("\n")


def _line_entries(fh) -> Iterator[list[str]]:
    first = True
    while lines := fh.readlines(LIST_CHUNK_BYTES):
        stripped = list(map(str.strip, lines))
        if all(stripped) and "\n#" not in "\n" + "\n".join(stripped):
            entries = stripped  # no blank or comment line (the usual list)
        else:
            entries = [s for s in stripped if s and not s.startswith("#")]
        if first and entries and entries[0].lower() == "path":
            entries = entries[1:]  # a one-column CSV header
        first = False
        yield entries


def _csv_entries(fh, list_file: str) -> Iterator[list[str]]:
    import csv  # only for .csv lists: start-up imports nothing a run does not need

    rows: Iterator[list[str]] = (
        r for r in csv.reader(fh) if r and "".join(r).strip() and not r[0].lstrip().startswith("#"))
    header = next(rows, None)
    if header is None:
        return
    names = [c.strip().lower() for c in header]
    if names[:2] == ["id", "label"] and "path" not in names:
        yield from _kaggle_entries(rows, list_file)
        return
    column = names.index("path") if "path" in names else 0
    if "path" not in names:
        second = next(rows, None)
        head = [] if second is None else [second]
        if second is None or not _names_patch(second[0]) or _names_patch(header[0]):
            head.insert(0, header)  # no header: the first row is a path too
        rows = _chained(head, rows)
    while chunk := list(islice(rows, 8192)):
        yield [r[column].strip() for r in chunk if len(r) > column and r[column].strip()]


def _names_patch(entry: str) -> bool:
    return entry.strip().lower().endswith(PATCH_SUFFIXES)


def _kaggle_entries(rows: Iterator[list[str]], list_file: str) -> Iterator[list[str]]:
    """The patch files of a Kaggle labels CSV: train/ID.tif beside it (else ID.tif beside it)."""
    folder = os.path.dirname(list_file) or "."
    images = "train/" if os.path.isdir(os.path.join(folder, "train")) else ""
    while chunk := list(islice(rows, 8192)):
        yield [f"{images}{r[0].strip()}.tif" for r in chunk if r[0].strip()]


def _chained(first: list[list[str]], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield from first
    yield from rest


def _probed(entries: Iterator[list[str]], list_file: str) -> list[str]:
    """The first chunk of entries, after checking that its first rows name patch files."""
    base = os.path.dirname(list_file) or "."
    first = next(entries, [])
    probe = first[:_PROBE_ROWS]
    if probe and not any(e.lower().endswith(PATCH_SUFFIXES) or os.path.lexists(os.path.join(base, e))
                         for e in probe):
        raise DataError(
            f"{list_file}: its rows are not patch paths (the first is {probe[0]!r}); a list "
            "names one .tif/.tiff file per line, or per row in a 'path' column of a .csv, or is "
            "a Kaggle labels CSV (id,label) beside its train/ folder"
        )
    return _resolved(os.path.dirname(list_file) or ".", iter([first]))


def _resolved(base: str, entries: Iterable[list[str]]) -> list[str]:
    prefix = "" if _normal(base) == "." else _normal(base).rstrip("/") + "/"
    out: list[str] = []
    for chunk in entries:
        joined = "\n" + "\n".join(chunk) + "\n"
        if any(s in joined for s in ("//", "/./", "/.\n", "/\n", "\n./", "\n.\n")):
            chunk = [_normal(e) for e in chunk]
        if joined.count("\n/") == len(chunk):
            out += chunk  # all absolute
        else:
            out += [e if e.startswith("/") else prefix + e for e in chunk]
    return out
def read_labels_csv(csv_path: Path) -> dict[str, int]:
    """Kaggle-style `id,label` CSV -> {id: 0|1}; DataError names the file and line of a bad row."""
    import csv

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
