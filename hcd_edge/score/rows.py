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

from collections.abc import Iterable, Iterator
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
    """Consecutive rows in input order: paths, probabilities in millionths (-1: not scored), statuses.

    Probabilities are kept as integer millionths, the resolution every output writes: the
    label is then decided on the probability as written (1 when it is >= the threshold).
    """

    paths: list[str]
    millionths: np.ndarray  # int64 (n,), 0..1_000_000; -1 where not scored
    statuses: np.ndarray  # int32 (n,), 0 = scored
    kept: list[str] | None = None  # DUPLICATE_ID rows: the path with that id that was scored

    def __len__(self) -> int:
        return len(self.paths)

    def part(self, start: int, stop: int) -> RowBatch:
        """Rows start..stop-1 of this batch."""
        kept = None if self.kept is None else self.kept[start:stop]
        return RowBatch(self.paths[start:stop], self.millionths[start:stop],
                        self.statuses[start:stop], kept)


def coalesced(batches: Iterable[RowBatch], rows: int) -> Iterator[RowBatch]:
    """The batches joined into batches of about `rows` rows (order kept), for bulk formatting."""
    pending: list[RowBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += len(batch)
        if count >= rows:
            yield joined(pending)
            pending, count = [], 0
    if pending:
        yield joined(pending)


def joined(batches: list[RowBatch]) -> RowBatch:
    """Consecutive batches as one RowBatch (order kept; one batch is returned as it is)."""
    if len(batches) == 1:
        return batches[0]
    paths = [p for b in batches for p in b.paths]
    kept = None
    if any(b.kept is not None for b in batches):
        kept = [k for b in batches for k in (b.kept if b.kept is not None else [""] * len(b))]
    return RowBatch(paths, np.concatenate([b.millionths for b in batches]),
                    np.concatenate([b.statuses for b in batches]), kept)


def engine_rows(paths: list[str], probabilities: np.ndarray, statuses: np.ndarray) -> RowBatch:
    """The rows of a pipeline batch; a non-finite probability of a decoded patch gets NOT_FINITE."""
    p = np.asarray(probabilities, dtype=np.float64)
    s = np.asarray(statuses, dtype=np.int32)
    finite = np.isfinite(p)
    if finite.all():  # the usual batch: a third of the numpy calls (this runs per batch, at decoder speed)
        q = np.rint(p * 1e6).astype(np.int64)
        if s.any():
            q[s != 0] = -1
        return RowBatch(list(paths), q, s)
    bad = (s == 0) & ~finite
    if bad.any():
        s = np.where(bad, np.int32(RowStatus.NOT_FINITE), s)
    with np.errstate(invalid="ignore"):
        q = np.rint(np.where(finite, p, 0.0) * 1e6).astype(np.int64)
    q[s != 0] = -1
    return RowBatch(list(paths), q, s)


def duplicate_rows(paths: list[str], kept: list[str]) -> RowBatch:
    """Error rows of paths whose ids earlier-sorted paths (kept, scored instead) already have."""
    n = len(paths)
    return RowBatch(list(paths), np.full(n, -1, np.int64),
                    np.full(n, RowStatus.DUPLICATE_ID, np.int32), list(kept))


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


_POWERS = 10 ** np.arange(5, -1, -1, dtype=np.int64)


def probability_bytes(millionths: np.ndarray) -> np.ndarray:
    """(n, 8) ASCII bytes of PROBABILITY_FORMAT for millionths 0..1_000_000 (rows < 0: zeros)."""
    q = np.clip(millionths, 0, 1_000_000)
    out = np.empty((len(q), 8), np.uint8)
    out[:, 0] = ord("0") + (q // 1_000_000)
    out[:, 1] = ord(".")
    out[:, 2:] = ord("0") + (q[:, None] // _POWERS) % 10
    return out


def fixed_width_ids(paths: list[str]) -> np.ndarray | None:
    """(n, L) ASCII bytes of the ids when all paths share one folder, one suffix and one length."""
    first = paths[0]
    slash, dot = first.rfind("/") + 1, first.rfind(".")
    if dot < slash or not all(len(p) == len(first) for p in paths):
        return None
    joined = "".join(paths)
    if not joined.isascii():
        return None
    table = np.frombuffer(joined.encode("ascii"), np.uint8).reshape(len(paths), len(first))
    same = (table[:, :slash] == table[0, :slash]).all() and (table[:, dot:] == table[0, dot:]).all()
    if not same or (table[:, slash:dot] == ord("/")).any():
        return None
    return table[:, slash:dot]


@dataclass
class FormattedRows:
    """A RowBatch's fields as every output writes them; bulk arrays first, lists on demand."""

    batch: RowBatch
    probability_text: np.ndarray  # (n, 8) ASCII bytes (meaningless where not scored)
    label_text: np.ndarray  # (n,) ASCII '0' / '1' (meaningless where not scored)
    id_bytes: np.ndarray | None  # (n, L) ASCII ids when they are all of one length, else None
    scored: int
    positive: int

    def __len__(self) -> int:
        return len(self.batch)

    @property
    def all_scored(self) -> bool:
        """True when no row of the batch failed."""
        return self.scored == len(self.batch)

    @property
    def ids(self) -> list[str]:
        """Display ids (undecodable bytes as \\xNN)."""
        if self.id_bytes is not None:
            width = self.id_bytes.shape[1]
            text = self.id_bytes.tobytes().decode("ascii")
            return [text[i : i + width] for i in range(0, len(text), width)] if width else [""] * len(self)
        return display_texts([patch_id(p) for p in self.batch.paths])

    @property
    def statuses(self) -> list[int]:
        """Row statuses."""
        return self.batch.statuses.tolist()

    @property
    def probabilities(self) -> list[str]:
        """PROBABILITY_FORMAT strings, "" where not scored."""
        text = self.probability_text.tobytes().decode("ascii")
        values = [text[i : i + 8] for i in range(0, len(text), 8)]
        if self.all_scored:
            return values
        return [v if s == 0 else "" for v, s in zip(values, self.statuses)]

    @property
    def labels(self) -> list[str]:
        """"0" / "1", "" where not scored."""
        values = list(self.label_text.tobytes().decode("ascii"))
        if self.all_scored:
            return values
        return [v if s == 0 else "" for v, s in zip(values, self.statuses)]

    @property
    def messages(self) -> list[str]:
        """"" where scored, else why not (naming the path)."""
        return ["" if s == 0 else _message(self.batch, i, s) for i, s in enumerate(self.statuses)]


def format_rows(batch: RowBatch, threshold: float) -> FormattedRows:
    """The formatted fields of a batch at `threshold` (label 1 when probability >= threshold)."""
    ok = batch.statuses == 0
    positive = ok & (batch.millionths / 1e6 >= threshold)
    labels = positive.view(np.uint8) + np.uint8(ord("0"))
    ids = fixed_width_ids(batch.paths) if len(batch) else None
    return FormattedRows(batch, probability_bytes(batch.millionths), labels, ids,
                         int(np.count_nonzero(ok)), int(np.count_nonzero(positive)))


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
        self.total += len(rows)
        self.scored += rows.scored
        self.failed += len(rows) - rows.scored
        self.positive += rows.positive
