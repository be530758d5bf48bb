"""Final score files (csv, kaggle, jsonl), written a batch at a time under a temporary name.

CSV fields are quoted when they hold a comma, a quote, a carriage return or a newline (RFC
4180); a batch whose ids need none of that (the usual case) is formatted in one pass.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TextIO

import numpy as np

from hcd_edge.atomic import atomic_text
from hcd_edge.errors import DataError
from hcd_edge.score.rows import FormattedRows

CSV_HEADER = ("id", "probability", "label", "status", "message")
KAGGLE_HEADER = ("id", "label")  # the competition's submission format: label = probability
ERRORS_HEADER = ("id", "status", "message")
_CSV_SPECIAL = (",", '"', "\r", "\n")


class OutputFormat(str, Enum):
    """Layout of the score file."""

    CSV = "csv"  # id,probability,label,status,message: one row per input path
    KAGGLE = "kaggle"  # id,label (probability) for scored patches; failures in FILE.errors.csv
    JSONL = "jsonl"  # one JSON object per input path, CSV's fields


def errors_path(out: Path) -> Path:
    """FILE.errors.csv beside a kaggle submission FILE."""
    return out.with_name(out.name + ".errors.csv")


def target_paths(out: Path, fmt: OutputFormat) -> list[Path]:
    """Every file a run of this format may write, main file first (kaggle: also its errors file)."""
    return [out, errors_path(out)] if fmt is OutputFormat.KAGGLE else [out]


def output_paths(out: Path, fmt: OutputFormat) -> list[Path]:
    """The files a finished run wrote, main file first (kaggle: the errors file when any failed)."""
    return [p for p in target_paths(out, fmt) if p == out or p.exists()]


def check_output_path(out: Path) -> None:
    """Raise DataError unless `out` can be written as a file (existing folder, not a directory)."""
    if out.is_dir():
        raise DataError(f"--out {out} is a directory; give a file name, e.g. {out / 'scores.csv'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"--out {out}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise DataError(f"--out {out}: the folder {parent} is not writable")


def csv_field(text: str) -> str:
    """One CSV field, quoted when it holds a comma, quote, carriage return or newline."""
    if any(c in text for c in _CSV_SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(fields) -> str:
    """One CSV record with its newline."""
    return ",".join(csv_field(str(f)) for f in fields) + "\n"


class OutputWriter:
    """Writes formatted batches in a format to its files; open() renames them into place."""

    def __init__(self, fmt: OutputFormat, main: TextIO, errors: TextIO | None):
        self.fmt, self._main, self._errors = fmt, main, errors
        self.failed = 0  # error rows written (kaggle: to the errors file)
        if fmt is OutputFormat.CSV:
            main.write(csv_line(CSV_HEADER))
        elif fmt is OutputFormat.KAGGLE and errors is not None:
            main.write(csv_line(KAGGLE_HEADER))
            errors.write(csv_line(ERRORS_HEADER))

    @classmethod
    @contextlib.contextmanager
    def open(cls, out: Path, fmt: OutputFormat) -> Iterator[OutputWriter]:
        """A writer whose files appear (renamed) only when the block succeeds."""
        if fmt is OutputFormat.KAGGLE:
            with atomic_text(out) as main, atomic_text(errors_path(out)) as errors:
                writer = cls(fmt, main, errors)
                yield writer
            if not writer.failed:  # a clean submission gets no errors file (and loses a stale one)
                errors_path(out).unlink(missing_ok=True)
        else:
            with atomic_text(out) as main:
                yield cls(fmt, main, None)

    def write(self, rows: FormattedRows) -> None:
        """Append one formatted batch."""
        if self.fmt is OutputFormat.CSV:
            self._main.write(_csv_rows(rows))
        elif self.fmt is OutputFormat.KAGGLE:
            self._write_kaggle(rows)
        else:
            self._main.write(_jsonl_rows(rows))

    def _write_kaggle(self, rows: FormattedRows) -> None:
        assert self._errors is not None
        if rows.all_scored and _plain_bytes(rows.id_bytes):
            self._main.write(_joined(rows.id_bytes, b",", rows.probability_text, b"\n"))
            return
        ids = rows.ids if _plain(rows.ids) else list(map(csv_field, rows.ids))
        for pid, p, status, message in zip(ids, rows.probabilities, rows.statuses, rows.messages):
            if status == 0:
                self._main.write(f"{pid},{p}\n")
            else:
                self._errors.write(f"{pid},{status},{csv_field(message)}\n")
                self.failed += 1


def _plain(texts: list[str]) -> bool:
    joined = "".join(texts)
    return not any(c in joined for c in _CSV_SPECIAL)


_SPECIAL_BYTES = np.frombuffer("".join(_CSV_SPECIAL).encode(), np.uint8)


def _plain_bytes(ids: np.ndarray | None) -> bool:
    return ids is not None and not np.isin(ids, _SPECIAL_BYTES).any()


def _joined(*columns) -> str:
    """Rows glued from (n, k) byte columns and constant byte strings, as one ASCII string."""
    n = next(len(c) for c in columns if isinstance(c, np.ndarray))
    parts = [np.broadcast_to(np.frombuffer(c, np.uint8), (n, len(c))) if isinstance(c, bytes)
             else c.reshape(n, -1) for c in columns]
    return np.concatenate(parts, axis=1).tobytes().decode("ascii")


def _csv_rows(rows: FormattedRows) -> str:
    if rows.all_scored and _plain_bytes(rows.id_bytes):
        return _joined(rows.id_bytes, b",", rows.probability_text, b",", rows.label_text, b",0,\n")
    ids = rows.ids if _plain(rows.ids) else list(map(csv_field, rows.ids))
    messages = map(csv_field, rows.messages)
    return "".join(map("{},{},{},{},{}\n".format, ids, rows.probabilities, rows.labels,
                       rows.statuses, messages))


def _jsonl_rows(rows: FormattedRows) -> str:
    lines = []
    for pid, p, label, status, message in zip(rows.ids, rows.probabilities, rows.labels,
                                              rows.statuses, rows.messages):
        record = {"id": pid, "probability": float(p) if status == 0 else None,
                  "label": int(label) if status == 0 else None, "status": status,
                  "message": message}
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)
