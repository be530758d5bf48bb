"""The watch's result rows: one formatted row per file, as results.csv writes it.

score writes its rows in bulk from RowBatches; the watch appends a few rows at a time with
their path and time, so it keeps them as small named tuples made from the same formatting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from hcd_edge.score.pipeline import BatchResult
from hcd_edge.score.rows import engine_rows, format_rows
from hcd_edge.score.sources import PatchRef


class Row(NamedTuple):
    """A result row with its fields formatted as score's csv writes them."""

    path: str
    id: str
    probability: str  # PROBABILITY_FORMAT, or "" when not scored
    label: str  # "0" / "1", or "" when not scored
    status: int  # 0 = scored; decode status (1-99), score's RowStatus or a SlideStatus
    message: str  # "" when scored; why not, naming the path

    @property
    def ok(self) -> bool:
        """True when the file was scored."""
        return self.status == 0


def batch_rows(result: BatchResult, refs: Sequence[PatchRef], threshold: float) -> list[Row]:
    """Rows of a pipeline batch; refs[i] is the ref of result.paths[i]."""
    paths = [str(r.path) for r in refs]
    rows = format_rows(engine_rows(paths, result.probabilities, result.statuses), threshold)
    return [Row(*fields) for fields in zip(paths, rows.ids, rows.probabilities, rows.labels,
                                           rows.statuses, rows.messages)]
