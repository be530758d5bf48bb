"""Final score files (csv, kaggle, jsonl), each written under a temporary name and renamed."""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterable
from enum import Enum
from pathlib import Path
from typing import TextIO

from hcd_edge.atomic import atomic_text
from hcd_edge.errors import DataError
from hcd_edge.score.rows import Row

CSV_HEADER = ("id", "probability", "label", "status", "message")
KAGGLE_HEADER = ("id", "label")  # the competition's submission format: label = probability
ERRORS_HEADER = ("id", "status", "message")


class OutputFormat(str, Enum):
    """Layout of the score file."""

    CSV = "csv"  # id,probability,label,status,message: one row per input path
    KAGGLE = "kaggle"  # id,label (probability) for scored patches; failures in FILE.errors.csv
    JSONL = "jsonl"  # one JSON object per input path, CSV's fields


def errors_path(out: Path) -> Path:
    """FILE.errors.csv beside a kaggle submission FILE (written only when some patch failed)."""
    return out.with_name(out.name + ".errors.csv")


def output_paths(out: Path, fmt: OutputFormat) -> list[Path]:
    """Every file a format writes, main file first."""
    return [out, errors_path(out)] if fmt is OutputFormat.KAGGLE else [out]


def check_output_path(out: Path) -> None:
    """Raise DataError unless `out` can be written as a file (existing folder, not a directory)."""
    if out.is_dir():
        raise DataError(f"--out {out} is a directory; give a file name, e.g. {out / 'scores.csv'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise DataError(f"--out {out}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise DataError(f"--out {out}: the folder {parent} is not writable")


def write_outputs(rows: Iterable[Row], out: Path, fmt: OutputFormat) -> list[Path]:
    """Write rows (in order) in the format; files appear only when complete. Returns their paths."""
    if fmt is OutputFormat.KAGGLE:
        with atomic_text(out) as main, contextlib.ExitStack() as errors:
            failed = _write_kaggle(rows, main, lambda: errors.enter_context(atomic_text(errors_path(out))))
        if not failed:  # a clean submission gets no errors file, and loses a stale one
            errors_path(out).unlink(missing_ok=True)
            return [out]
    else:
        with atomic_text(out) as fh:
            (_write_csv if fmt is OutputFormat.CSV else _write_jsonl)(rows, fh)
    return output_paths(out, fmt)


def _write_csv(rows: Iterable[Row], fh: TextIO) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow((r.id, r.probability, r.label, r.status, r.message))


def _write_kaggle(rows: Iterable[Row], main: TextIO, open_errors) -> int:
    """Write the submission; the errors file is opened (open_errors()) at the first failure.
    Returns the number of failed rows."""
    scored = csv.writer(main, lineterminator="\n")
    scored.writerow(KAGGLE_HEADER)
    failed = None
    count = 0
    for r in rows:
        if r.ok:
            scored.writerow((r.id, r.probability))
            continue
        if failed is None:
            failed = csv.writer(open_errors(), lineterminator="\n")
            failed.writerow(ERRORS_HEADER)
        failed.writerow((r.id, r.status, r.message))
        count += 1
    return count


def _write_jsonl(rows: Iterable[Row], fh: TextIO) -> None:
    for r in rows:
        record = {
            "id": r.id,
            "probability": float(r.probability) if r.ok else None,
            "label": int(r.label) if r.ok else None,
            "status": r.status,
            "message": r.message,
        }
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
