"""Odd files and names: every input gets its row (item 4, and the cases that already held:
FIFOs, symlink loops, sparse 1 GB files, newlines, quotes, commas, leading dashes, 255 bytes)."""

from __future__ import annotations

import csv
import json
import os
import time

import pytest

from tests.hostile.conftest import N_PATCHES
from tests.hostile.helpers import assert_clean, cli

ODD_NAMES = ["new\nline", 'quo"te', "com,ma", "-dash", "sp ace", "a" * 251, "ünïcödé"]


def _ids(out, fmt: str) -> list[str]:
    with open(out, newline="", encoding="utf-8") as fh:
        if fmt == "jsonl":
            return [json.loads(line)["id"] for line in fh]
        return [row[0] for row in list(csv.reader(fh))[1:]]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "kaggle"])
def test_odd_names_get_their_rows_and_read_back_exactly(fmt, patches, engine, tmp_path):
    good = (patches / "p00000.tif").read_bytes()
    for name in ODD_NAMES:
        (patches / f"{name}.tif").write_bytes(good)
    out = tmp_path / "s.out"
    assert_clean(cli("score", patches, "--engine", engine, "--out", out, "--format", fmt), 0)
    assert sorted(_ids(out, fmt)) == sorted([*ODD_NAMES, *(f"p{i:05d}" for i in range(N_PATCHES))])


def test_a_leading_dash_file_given_after_double_dash_is_scored(patches, engine, tmp_path):
    (tmp_path / "-x.tif").write_bytes((patches / "p00000.tif").read_bytes())
    assert_clean(cli("score", "--engine", engine, "--out", tmp_path / "s.csv", "--", "-x.tif"), 0)
    assert _ids(tmp_path / "s.csv", "csv") == ["-x"]


def test_fifos_loops_and_sparse_giants_get_error_rows_without_hanging(patches, engine, tmp_path):
    os.mkfifo(patches / "fifo.tif")
    (patches / "loop_a.tif").symlink_to(patches / "loop_b.tif")
    (patches / "loop_b.tif").symlink_to(patches / "loop_a.tif")
    with open(patches / "sparse.tif", "wb") as fh:
        fh.truncate(1 << 30)  # 1 GB of holes
    (patches / "folder.tif").mkdir()
    began = time.monotonic()
    result = cli("score", patches, "--engine", engine, "--out", tmp_path / "s.csv")
    assert_clean(result, 3)
    assert time.monotonic() - began < 60
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert len(rows) == N_PATCHES + 5
    for name in ("fifo", "loop_a", "loop_b", "sparse", "folder"):
        assert rows[name]["status"] not in ("", "0") and rows[name]["message"], rows[name]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "kaggle"])
def test_a_name_that_is_not_utf8_gets_its_row_in_every_format(fmt, patches, engine, tmp_path):
    good = (patches / "p00000.tif").read_bytes()
    with open(os.path.join(os.fsencode(patches), b"zz_bad\xffname.tif"), "wb") as fh:
        fh.write(good)
    out = tmp_path / "s.out"
    result = cli("score", patches, "--engine", engine, "--out", out, "--format", fmt)
    assert_clean(result, 0)
    ids = _ids(out, fmt)
    assert len(ids) == N_PATCHES + 1 and any(i.startswith("zz_bad") for i in ids)
