"""Rows formatted in bulk (byte columns) read back exactly like rows written one by one."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from hcd_edge.score.output import OutputFormat, OutputWriter
from hcd_edge.score.rows import (
    PROBABILITY_FORMAT,
    RowStatus,
    coalesced,
    duplicate_rows,
    engine_rows,
    fixed_width_ids,
    format_rows,
)


def written(fmt, batches, threshold=0.5):
    main, errors = io.StringIO(), io.StringIO()
    writer = OutputWriter(fmt, main, errors if fmt is OutputFormat.KAGGLE else None)
    for batch in batches:
        writer.write(format_rows(batch, threshold))
    return main.getvalue(), errors.getvalue()


def reference_csv(paths, probabilities, statuses, threshold=0.5):
    """What csv.writer makes of the same rows, one at a time."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    w.writerow(["id", "probability", "label", "status", "message"])
    for path, p, s in zip(paths, probabilities, statuses):
        pid = path.rpartition("/")[2].rpartition(".")[0]
        if s:
            w.writerow([pid, "", "", s, f"x: {path}"])
        else:
            q = round(p * 1e6) / 1e6
            w.writerow([pid, PROBABILITY_FORMAT.format(q), int(q >= threshold), 0, ""])
    return out.getvalue()


@pytest.mark.parametrize("names", [
    [f"{i:040x}" for i in range(200)],  # one length: the byte-column road
    [f"p{i}" for i in range(200)],  # lengths differ: the list road
    [f"q,{i}" if i % 7 == 0 else f"q\"{i}" if i % 11 == 0 else f"q{i:03d}" for i in range(200)],
])
def test_bulk_csv_equals_csv_writer_row_by_row(names):
    rng = np.random.default_rng(0)
    paths = [f"/data/train/{n}.tif" for n in names]
    p = rng.random(len(paths))
    p[:3] = [0.0, 1.0, 0.5]
    text, _ = written(OutputFormat.CSV, [engine_rows(paths, p, np.zeros(len(paths), np.int32))])
    assert text == reference_csv(paths, p, [0] * len(paths))
    assert len(list(csv.DictReader(io.StringIO(text)))) == len(paths)


def test_fixed_width_ids_only_for_one_folder_one_suffix_one_length():
    assert fixed_width_ids(["/a/x1.tif", "/a/x2.tif"]).tobytes() == b"x1x2"
    assert fixed_width_ids(["/a/x1.tif", "/b/x2.tif"]) is None
    assert fixed_width_ids(["/a/x1.tif", "/a/x2.tjf"]) is None
    assert fixed_width_ids(["/a/x1.tif", "/a/x22.tif"]) is None
    assert fixed_width_ids(["/a/é1.tif", "/a/é2.tif"]) is None


def test_failed_and_non_finite_rows_carry_status_and_message_in_every_format():
    paths = ["/d/a.tif", "/d/b.tif", "/d/c.tif"]
    batch = engine_rows(paths, np.array([0.25, np.nan, np.inf]), np.array([0, 0, 10], np.int32))
    assert batch.statuses.tolist() == [0, RowStatus.NOT_FINITE, 10]
    dup = duplicate_rows(["/e/a.tif"], ["/d/a.tif"])
    csv_text, _ = written(OutputFormat.CSV, [batch, dup])
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["status"] for r in rows] == ["0", "101", "10", "100"]
    assert "non-finite" in rows[1]["message"] and "/d/c.tif" in rows[2]["message"]
    assert "collides with /d/a.tif" in rows[3]["message"]
    main, errors = written(OutputFormat.KAGGLE, [batch, dup])
    assert main.splitlines() == ["id,label", "a,0.250000"]
    assert len(errors.splitlines()) == 4
    jsonl, _ = written(OutputFormat.JSONL, [batch, dup])
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert records[0] == {"id": "a", "probability": 0.25, "label": 0, "status": 0, "message": ""}
    assert [r["probability"] for r in records[1:]] == [None, None, None]


def test_coalesced_batches_format_like_the_parts():
    rng = np.random.default_rng(1)
    parts = [engine_rows([f"/d/p{i}_{j}.tif" for j in range(5)], rng.random(5), np.zeros(5, np.int32))
             for i in range(7)]
    parts.insert(3, duplicate_rows(["/e/p0_0.tif"], ["/d/p0_0.tif"]))
    joined = list(coalesced(parts, 12))
    assert [len(b) for b in joined] == [15, 16, 5]
    assert written(OutputFormat.CSV, joined) == written(OutputFormat.CSV, parts)
