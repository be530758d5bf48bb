"""Items 5 and 14-18 of issue 11: documented exit codes and one clear line, never a traceback."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hcd_edge.output_lock import lock_path
from hcd_edge.score.partial import partial_path
from tests.hostile.helpers import assert_clean, cli
from tests.score.helpers import write_patch_folder
from tests.tiny_models import write_tiny_cnn

IS_ROOT = os.geteuid() == 0


def _whole(patches, engine, tmp_path, *args) -> bytes:
    """The output of an uninterrupted run, to compare resumed ones with."""
    out = tmp_path / "whole.csv"
    assert_clean(cli("score", patches, "--engine", engine, "--out", out, *args), 0)
    return out.read_bytes()


# ---- item 5: bench --seconds / --warmup must be finite ----

@pytest.mark.parametrize("option,value", [("--seconds", "inf"), ("--seconds", "nan"), ("--seconds", "0"),
                                          ("--seconds", "-1"), ("--warmup", "inf"), ("--warmup", "nan")])
def test_bench_refuses_endless_or_empty_timings(option, value, engine):
    assert_clean(cli("bench", engine, f"{option}={value}"), 2, option)


# ---- item 14: inspect exits 1 when the engine file does not match ----

@pytest.mark.parametrize("damage", ["tampered", "swapped", "model-less"])
@pytest.mark.parametrize("as_json", [False, True])
def test_inspect_exits_1_for_a_damaged_engine(damage, as_json, own_engine, tmp_path):
    model = own_engine / "model.onnx"
    if damage == "tampered":
        model.write_bytes(model.read_bytes()[:-8] + b"tampered")
    elif damage == "swapped":
        write_tiny_cnn(model, seed=7)
    else:
        model.unlink()
    assert_clean(cli("inspect", own_engine, *(["--json"] if as_json else [])), 1, "PROBLEM")


def test_inspect_exits_0_for_an_intact_engine(engine):
    assert_clean(cli("inspect", engine), 0, "matches its SHA-256")


# ---- item 15: disk full, odd partial files, missing summary folder, unusable cache ----

def test_disk_full_while_saving_rows_keeps_them_resumable(patches, engine, tmp_path, monkeypatch):
    from hcd_edge.score import partial

    whole = _whole(patches, engine, tmp_path, "--batch", "4")
    append, calls = partial.PartialLog.append, []

    def fills_up(self, rows):
        calls.append(1)
        if len(calls) == 2:
            self._fh.write(b'{"rows": [["torn')  # half a line, as a full disk leaves it
            self._fh.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        append(self, rows)

    out = tmp_path / "s.csv"
    with monkeypatch.context() as patch:
        patch.setattr(partial.PartialLog, "append", fills_up)
        result = cli("score", patches, "--engine", engine, "--out", out, "--batch", "4")
    assert_clean(result, 1, "no space left on device", str(partial_path(out)), "--resume")
    assert partial_path(out).exists() and not out.exists() and not lock_path(out).exists()
    assert_clean(cli("score", patches, "--engine", engine, "--out", out, "--batch", "4", "--resume"), 0)
    assert out.read_bytes() == whole


def test_disk_full_while_writing_the_output_keeps_the_rows(patches, engine, tmp_path, monkeypatch):
    from hcd_edge import atomic

    whole = _whole(patches, engine, tmp_path)
    out = tmp_path / "s.csv"
    out.write_text("yesterday's scores\n")

    def no_space(tmp, final):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(final))

    with monkeypatch.context() as patch:
        patch.setattr(atomic, "_publish", no_space)
        result = cli("score", patches, "--engine", engine, "--out", out)
    assert_clean(result, 1, "no space left on device", "--resume")
    assert out.read_text() == "yesterday's scores\n" and partial_path(out).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert_clean(cli("score", patches, "--engine", engine, "--out", out, "--resume"), 0)
    assert out.read_bytes() == whole


FULL_DISK = textwrap.dedent("""
    set -u
    mount -t tmpfs -o size=8k tmpfs "$DIR" || exit 77
    "$PY" -m hcd_edge score "$PATCHES" --engine "$ENGINE" --out "$DIR/s.csv" --batch 4 2>"$LOG/first.err"
    echo $? > "$LOG/first.rc"
    ls -a "$DIR" > "$LOG/first.ls"
    mount -o remount,size=1m "$DIR"
    "$PY" -m hcd_edge score "$PATCHES" --engine "$ENGINE" --out "$DIR/s.csv" --batch 4 --resume 2>"$LOG/second.err"
    echo $? > "$LOG/second.rc"
    cp "$DIR/s.csv" "$LOG/s.csv"
""")


@pytest.mark.skipif(not IS_ROOT or not shutil.which("unshare"), reason="needs root and unshare -m "
                    "to mount a tiny tmpfs in a private mount namespace")
def test_a_really_full_file_system_keeps_the_rows_resumable(engine, tmp_path):
    patches = tmp_path / "patches"
    paths = write_patch_folder(patches, 12)
    for p in paths:  # long names: the rows outgrow one 4 KiB page while the run is saving them
        p.rename(p.with_name(p.stem + "_" + "n" * 180 + ".tif"))
    whole = _whole(patches, engine, tmp_path, "--batch", "4")
    (tmp_path / "small").mkdir()
    (tmp_path / "log").mkdir()
    env = {**os.environ, "DIR": str(tmp_path / "small"), "LOG": str(tmp_path / "log"), "PY": sys.executable,
           "PATCHES": str(patches), "ENGINE": str(engine), "HCD_EDGE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(["unshare", "-m", "sh", "-c", FULL_DISK], env=env, timeout=120, check=False)
    if done.returncode == 77:
        pytest.skip("mount -t tmpfs is not allowed here")
    log = tmp_path / "log"
    first = (log / "first.err").read_text()
    assert (log / "first.rc").read_text().strip() == "1", first
    assert "no space left on device" in first and "--resume" in first and "Traceback" not in first
    assert "s.csv.partial" in (log / "first.ls").read_text().split()
    assert (log / "second.rc").read_text().strip() == "0", (log / "second.err").read_text()
    assert (log / "s.csv").read_bytes() == whole


@pytest.mark.parametrize("kind", ["folder", "dangling link"])
@pytest.mark.parametrize("resume", [False, True])
def test_a_partial_slot_that_is_not_a_file_is_one_clear_error(kind, resume, patches, engine, tmp_path):
    out = tmp_path / "s.csv"
    if kind == "folder":
        partial_path(out).mkdir()
    else:
        partial_path(out).symlink_to(tmp_path / "nowhere")
    result = cli("score", patches, "--engine", engine, "--out", out, *(["--resume"] if resume else []))
    assert_clean(result, 1, str(partial_path(out)))
    assert os.path.lexists(partial_path(out)) and not (tmp_path / "nowhere").exists()


def test_summary_in_a_missing_folder_is_refused_before_scoring(patches, engine, tmp_path):
    out = tmp_path / "s.csv"
    result = cli("score", patches, "--engine", engine, "--out", out, "--summary", tmp_path / "no" / "sum.json")
    assert_clean(result, 1, "does not exist")
    assert not out.exists() and not partial_path(out).exists()


def test_a_cache_dir_that_is_a_file_is_one_clear_error(patches, engine, tmp_path, monkeypatch):
    (tmp_path / "cachefile").write_text("not a folder")
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cachefile"))
    monkeypatch.setenv("HCD_EDGE_STARTER_MODEL", str(engine / "model.onnx"))
    assert_clean(cli("score", patches, "--out", tmp_path / "s.csv"), 1, "HCD_EDGE_CACHE_DIR")


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")
def test_a_read_only_cache_dir_is_one_clear_error(patches, engine, tmp_path, monkeypatch):
    cache = tmp_path / "ro"
    cache.mkdir(mode=0o555)
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(cache))
    monkeypatch.setenv("HCD_EDGE_STARTER_MODEL", str(engine / "model.onnx"))
    assert_clean(cli("score", patches, "--out", tmp_path / "s.csv"), 1, "HCD_EDGE_CACHE_DIR")


# ---- item 17: build-engine usage errors exit 2 ----

@pytest.mark.parametrize("profile", ["0:0:0", "5:1:2", "abc", "1:2:3:4", "-1:1:1"])
def test_build_engine_bad_batch_profile_is_a_usage_error(profile, tmp_path):
    model = write_tiny_cnn(tmp_path / "m.onnx")
    assert_clean(cli("build-engine", model, f"--batch={profile}"), 2, "--batch")


# ---- item 18: messages that name the right thing ----

def test_bench_names_the_first_bad_patch_with_its_own_status(engine, tmp_path):
    folder = tmp_path / "bench"
    write_patch_folder(folder, 6)
    (folder / "a_empty.tif").write_bytes(b"")  # status 3 (empty)
    shutil.copy(Path(__file__), folder / "b_text.tif")  # status 10 (not a TIFF)
    result = cli("bench", engine, "--patches", folder, "--batch", "4", "--seconds", "0.01", "--warmup", "0")
    assert_clean(result, 1, f"{folder / 'a_empty.tif'} cannot be decoded (status 3)")


def test_inspect_names_a_missing_path(tmp_path):
    assert_clean(cli("inspect", tmp_path / "nonexistent"), 1, f"no such engine folder: {tmp_path / 'nonexistent'}")


def test_a_fifo_input_is_not_reported_as_missing(engine, tmp_path):
    fifo = tmp_path / "list.csv"
    os.mkfifo(fifo)
    result = cli("score", fifo, "--engine", engine, "--out", tmp_path / "s.csv")
    assert_clean(result, 1, str(fifo), "FIFO")
    assert "does not exist" not in result.output
