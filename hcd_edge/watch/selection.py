"""Which dropped files the watch takes, and which of them are whole slides rather than patches."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

SLIDE_PATTERNS = ("*.svs", "*.ndpi", "*.mrxs", "*.scn")
PATCH_PATTERNS = ("*.tif", "*.tiff")
DEFAULT_PATTERNS = PATCH_PATTERNS + SLIDE_PATTERNS


class FileKind(str, Enum):
    """How a taken file is scored."""

    PATCH = "patch"  # a 96x96 patch: batched through the scoring pipeline
    SLIDE = "slide"  # a whole-slide image: through `hcd-edge slide`'s code, one at a time


def parse_patterns(text: str) -> tuple[str, ...]:
    """'*.tif, *.svs' -> ('*.tif', '*.svs'); ValueError when no pattern is given."""
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    if not patterns:
        raise ValueError(f"{text!r} names no file pattern (e.g. '*.tif,*.svs')")
    return patterns


@dataclass(frozen=True)
class Selection:
    """File-name patterns (case-insensitive fnmatch on the name, or on the path when it holds a /).

    Names starting with '.' are never taken: copy tools and scanners write partial files under
    such temporary names and rename them when complete.
    """

    patterns: tuple[str, ...] = DEFAULT_PATTERNS
    slide_patterns: tuple[str, ...] = SLIDE_PATTERNS

    def kind(self, path: Path) -> FileKind | None:
        """The FileKind of a path the watch takes, or None when it is not taken."""
        name = path.name
        if name.startswith("."):
            return None
        taken, slides = _compiled(self.patterns), _compiled(self.slide_patterns)
        if not _matches(taken, path, name):
            return None
        return FileKind.SLIDE if _matches(slides, path, name) else FileKind.PATCH


@functools.lru_cache(maxsize=16)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern | None, re.Pattern | None]:
    """(regex over names, regex over full paths): one match per file, not one per pattern."""
    def join(group: list[str]) -> re.Pattern | None:
        return re.compile("|".join(fnmatch.translate(p.lower()) for p in group)) if group else None

    return join([p for p in patterns if "/" not in p]), join([p for p in patterns if "/" in p])


def _matches(compiled: tuple[re.Pattern | None, re.Pattern | None], path: Path, name: str) -> bool:
    by_name, by_path = compiled
    return bool((by_name and by_name.match(name.lower()))
                or (by_path and by_path.match(str(path).lower())))


def scan_files(folder: Path, selection: Selection, exclude: Path | None = None) -> Iterator[Path]:
    """Every file below folder that the selection takes (sorted per folder), skipping `exclude`."""
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _is_excluded(base / d, exclude))
        for name in sorted(files):
            path = base / name
            if selection.kind(path) is not None:
                yield path


def _is_excluded(path: Path, exclude: Path | None) -> bool:
    return exclude is not None and path.resolve() == exclude


def is_below(path: Path, folder: Path | None) -> bool:
    """True when the absolute path lies in folder (both as the watch sees them: no link resolving,
    which costs a stat per path component on every event)."""
    if folder is None:
        return False
    text, prefix = str(path), str(folder)
    return text == prefix or text.startswith(prefix.rstrip(os.sep) + os.sep)
