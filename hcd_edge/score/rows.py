"""Result rows, column by column: a batch of paths, probabilities and statuses -> formatted fields.

Rows are made and written at decoder speed (a hundred thousand a second), so they travel in
batches (numpy columns and lists of strings) and are formatted in bulk, never one Python
object per row. Formatting happens once, from the partial log, so a resumed run writes the
same bytes as an uninterrupted one.

Names that are not valid UTF-8 (the OS hands them over as surrogate escapes) are written with
each undecodable byte as a backslash escape, `\\xNN` (e.g. `zz_bad\\xffname`), identically in
every output format; the partial log keeps the exact name (JSON `\\udcNN` escapes) to match it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from hcd_edge.decode.status import DecodeStatus, status_message
from hcd_edge.score.sources import patch_id

PROBABILITY_FORMAT = "{:.6f}"  # 1e-6 resolution: far below any model's calibration error


class RowStatus(IntEnum):
    """Row statuses beyond the decoder's (decode statuses are 1-99)."""

    OK = 0
    DUPLICATE_ID = 100  # another path with the same id was scored instead
    NOT_FINITE = 101  # the engine returned NaN or infinity for this patch


ROW_STATUSES = frozenset(int(s) for s in (*DecodeStatus, *RowStatus))


@dataclass
class RowBatch:
    """Consecutive rows in input order: paths, probabilities (NaN: not scored) and statuses."""

    paths: list[str]
    probabilities: np.ndarray  # float64 (n,)
    statuses: np.ndarray  # int32 (n,), 0 = scored
    kept: list[str] | None = None  # DUPLICATE_ID rows: the path with that id that was scored

    def __len__(self) -> int:
        return len(self.paths)

    def part(self, start: int, stop: int) -> RowBatch:
        """Rows start..stop-1 of this batch."""
        kept = None if self.kept is None else self.kept[start:stop]
        return RowBatch(self.paths[start:stop], self.probabilities[start:stop],
                        self.statuses[start:stop], kept)


def engine_rows(paths: list[str], probabilities: np.ndarray, statuses: np.ndarray) -> RowBatch:
    """The rows of a pipeline batch; a non-finite probability of a decoded patch gets NOT_FINITE."""
    p = np.asarray(probabilities, dtype=np.float64)
    s = np.asarray(statuses, dtype=np.int32)
    bad = (s == 0) & ~np.isfinite(p)
    if bad.any():
        s = np.where(bad, np.int32(RowStatus.NOT_FINITE), s)
        p = np.where(s == 0, p, np.nan)
    return RowBatch(list(paths), p, s)


def duplicate_rows(paths: list[str], kept: list[str]) -> RowBatch:
    """Error rows of paths whose ids earlier-sorted paths (kept, scored instead) already have."""
    n = len(paths)
    return RowBatch(list(paths), np.full(n, np.nan), np.full(n, RowStatus.DUPLICATE_ID, np.int32),
                    list(kept))


def display_text(text: str) -> str:
    """text with bytes that are not UTF-8 (surrogate escapes) written as \\xNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        return raw.decode("utf-8", "backslashreplace")


def display_texts(texts: list[str]) -> list[str]:
    """display_text of each, checked in bulk: the common all-UTF-8 batch costs one encode."""
    try:
        "".join(texts).encode("utf-8")
        return texts
    except UnicodeEncodeError:
        return [display_text(t) for t in texts]


@dataclass
class FormattedRows:
    """A RowBatch as the strings every output writes (ids and messages display-safe)."""

    ids: list[str]
    probabilities: list[str]  # PROBABILITY_FORMAT, "" when not scored
    labels: list[str]  # "0" / "1", "" when not scored
    statuses: list[int]
    messages: list[str]  # "" when scored
    scored: int
    positive: int

    @property
    def all_scored(self) -> bool:
        """True when no row of the batch failed."""
        return self.scored == len(self.ids)


def format_rows(batch: RowBatch, threshold: float) -> FormattedRows:
    """The formatted fields of a batch at `threshold` (label 1 when probability >= threshold)."""
    ids = display_texts([patch_id(p) for p in batch.paths])
    ok = batch.statuses == 0
    positive = ok & (batch.probabilities >= threshold)
    labels = (positive.view(np.uint8) + ord("0")).tobytes().decode("ascii")
    n, scored = len(batch), int(np.count_nonzero(ok))
    if scored == n:
        probabilities = list(map(PROBABILITY_FORMAT.format, batch.probabilities.tolist()))
        return FormattedRows(ids, probabilities, list(labels), [0] * n, [""] * n, n,
                             int(np.count_nonzero(positive)))
    probabilities, label_list, messages = [], [], []
    statuses = batch.statuses.tolist()
    for i, (p, status) in enumerate(zip(batch.probabilities.tolist(), statuses)):
        if status == 0:
            probabilities.append(PROBABILITY_FORMAT.format(p))
            label_list.append(labels[i])
            messages.append("")
        else:
            probabilities.append("")
            label_list.append("")
            messages.append(_message(batch, i, status))
    return FormattedRows(ids, probabilities, label_list, statuses, messages, scored,
                         int(np.count_nonzero(positive)))


def _message(batch: RowBatch, i: int, status: int) -> str:
    path = display_text(batch.paths[i])
    if status == RowStatus.DUPLICATE_ID:
        kept = display_text(batch.kept[i]) if batch.kept is not None else "?"
        return (f"duplicate id {display_text(patch_id(batch.paths[i]))!r}: {path} collides with "
                f"{kept}, which was scored")
    if status == RowStatus.NOT_FINITE:
        return f"the engine returned a non-finite probability: {path}"
    return f"{status_message(status)}: {path}"


@dataclass
class Counts:
    """How many rows were scored, failed, and labelled positive."""

    total: int = 0
    scored: int = 0
    failed: int = 0
    positive: int = 0

    def add(self, rows: FormattedRows) -> None:
        """Count a formatted batch."""
        self.total += len(rows.ids)
        self.scored += rows.scored
        self.failed += len(rows.ids) - rows.scored
        self.positive += rows.positive
