"""One result row per input path: formatted once, so partial files and final outputs agree exactly."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from hcd_edge.decode import status_message
from hcd_edge.score.pipeline import BatchResult
from hcd_edge.score.sources import PatchRef

PROBABILITY_FORMAT = "{:.6f}"  # 1e-6 resolution: far below any model's calibration error


class RowStatus(IntEnum):
    """Row statuses beyond the decoder's (decode statuses are 1-99)."""

    OK = 0
    DUPLICATE_ID = 100  # another path with the same id was scored instead
    NOT_FINITE = 101  # the engine returned NaN or infinity for this patch


class Row(NamedTuple):
    """A result row with its fields already formatted as they appear in every output.

    A named tuple: rows are made and written at decoder speed, tens of thousands a second.
    """

    path: str
    id: str
    probability: str  # PROBABILITY_FORMAT, or "" when not scored
    label: str  # "0" / "1", or "" when not scored
    status: int  # 0 = scored; decode status (1-99) or RowStatus
    message: str  # "" when scored; why not, naming the path

    @property
    def ok(self) -> bool:
        """True when the patch was scored."""
        return self.status == 0

    def to_list(self) -> list:
        """The row as a JSON list (partial files)."""
        return list(self)

    @classmethod
    def from_list(cls, fields: list) -> Row:
        """Inverse of to_list; raises ValueError on a malformed entry."""
        path, pid, probability, label, status, message = fields
        if not isinstance(status, int) or not all(isinstance(f, str) for f in (path, pid, probability, label, message)):
            raise ValueError(f"malformed row {fields!r}")
        return cls(path, pid, probability, label, status, message)


def scored_row(ref: PatchRef, probability: float, status: int, threshold: float) -> Row:
    """The row of one pipeline result: formatted probability and label, or the decode failure."""
    if status != 0:
        return Row(str(ref.path), ref.id, "", "", status, f"{status_message(status)}: {ref.path}")
    if not math.isfinite(probability):
        message = f"the engine returned a non-finite probability: {ref.path}"
        return Row(str(ref.path), ref.id, "", "", int(RowStatus.NOT_FINITE), message)
    label = "1" if probability >= threshold else "0"
    return Row(str(ref.path), ref.id, PROBABILITY_FORMAT.format(probability), label, 0, "")


def batch_rows(result: BatchResult, refs: Sequence[PatchRef], threshold: float) -> list[Row]:
    """Rows of a pipeline batch; refs[i] is the ref of result.paths[i]."""
    return [
        scored_row(ref, float(p), int(s), threshold)
        for ref, p, s in zip(refs, result.probabilities, result.statuses)
    ]


def duplicate_row(ref: PatchRef, kept: PatchRef) -> Row:
    """The error row of a path whose id another (earlier-sorted) path already has."""
    message = f"duplicate id {ref.id!r}: {ref.path} collides with {kept.path}, which was scored"
    return Row(str(ref.path), ref.id, "", "", int(RowStatus.DUPLICATE_ID), message)


def split_duplicates(refs: Sequence[PatchRef]) -> tuple[list[int], list[tuple[int, Row]]]:
    """(positions to score, (position, error row) of duplicates): the first path of an id is scored."""
    first: dict[str, PatchRef] = {}
    unique: list[int] = []
    duplicates: list[tuple[int, Row]] = []
    for position, ref in enumerate(refs):
        kept = first.setdefault(ref.id, ref)
        if kept is ref:
            unique.append(position)
        else:
            duplicates.append((position, duplicate_row(ref, kept)))
    return unique, duplicates


@dataclass
class Counts:
    """How many rows were scored, failed, and labelled positive."""

    total: int = 0
    scored: int = 0
    failed: int = 0
    positive: int = 0

    def add(self, row: Row) -> None:
        """Count one row."""
        self.total += 1
        if row.status == 0:
            self.scored += 1
            self.positive += row.label == "1"
        else:
            self.failed += 1


def count_rows(rows: Iterator[Row] | Sequence[Row]) -> Counts:
    """Counts over rows."""
    counts = Counts()
    for row in rows:
        counts.add(row)
    return counts
