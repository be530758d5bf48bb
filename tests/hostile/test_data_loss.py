"""Items 1-3 of issue 11: never overwrite what was not asked for; devices stay devices; one
atomic write that honours the umask."""

from __future__ import annotations

import ast
import csv
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from hcd_edge.atomic import atomic_text, write_text_atomic
from hcd_edge.manifest import read_manifest, write_manifest
from hcd_edge.score.sources import FolderPaths
from tests.hostile.conftest import N_PATCHES
from tests.hostile.helpers import assert_clean, cli, snapshot

ROOT = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0


def _untouched_by(result, before: dict, tmp_path: Path) -> None:
    assert snapshot(*map(Path, before)) == before, result.output
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith((".partial", ".lock", ".tmp"))]
    assert not leftovers, leftovers


# ---- item 1: --out (or --summary) is an input, a list, an engine file, or the other output ----

@pytest.mark.parametrize("how", ["same path", "hard link", "soft link"])
def test_out_that_is_an_input_patch_is_refused_before_anything_is_read(how, patches, engine, tmp_path):
    victim = patches / "p00003.tif"
    out = {"same path": victim, "hard link": tmp_path / "hard.csv", "soft link": tmp_path / "soft.csv"}[how]
    if how == "hard link":
        os.link(victim, out)
    elif how == "soft link":
        out.symlink_to(victim)
    before = snapshot(victim, out)
    result = cli("score", patches, "--engine", engine, "--out", out)
    assert_clean(result, 2, "would be overwritten")
    _untouched_by(result, before, tmp_path)


@pytest.mark.parametrize("side", ["out through a linked folder", "inputs through a linked folder"])
def test_out_that_is_an_input_patch_by_another_folder_path_is_refused(side, patches, engine, tmp_path):
    linked = tmp_path / "linked"
    linked.symlink_to(patches, target_is_directory=True)
    victim = patches / "p00003.tif"
    folder, out = (patches, linked / victim.name) if side.startswith("out") else (linked, victim)
    before = snapshot(victim)
    result = cli("score", folder, "--engine", engine, "--out", out)
    assert_clean(result, 2, "would be overwritten")
    _untouched_by(result, before, tmp_path)


def test_an_existing_out_is_checked_against_many_inputs_without_a_stat_per_input(tmp_path, monkeypatch):
    from hcd_edge.score import targets

    out = tmp_path / "scores.csv"
    out.write_text("earlier scores\n")
    patches = [f"{tmp_path}/patches/p{i:05d}.tif" for i in range(5000)]
    calls = []
    real_stat = os.stat
    monkeypatch.setattr(targets.os, "stat", lambda *a, **k: calls.append(a) or real_stat(*a, **k))
    targets.check_not_inputs([("--out", out)], [], patches)
    assert len(calls) < 10
    with pytest.raises(targets.UsageError, match="would be overwritten"):
        targets.check_not_inputs([("--out", out)], [], [*patches, str(out)])
    names = [f"p{i:05d}.tif" for i in range(5000)]  # one folder's inputs, as a folder argument gives them
    targets.check_not_inputs([("--out", out)], [], FolderPaths(f"{tmp_path}/", names))
    with pytest.raises(targets.UsageError, match="would be overwritten"):
        targets.check_not_inputs([("--out", out)], [], FolderPaths(f"{tmp_path}/", [*names, "scores.csv"]))


def test_out_that_is_an_input_list_is_refused(patches, engine, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("path\n" + "".join(f"{p}\n" for p in sorted(patches.iterdir())))
    before = snapshot(listing)
    assert_clean(cli("score", listing, "--engine", engine, "--out", listing), 2, "would be overwritten")
    _untouched_by(None, before, tmp_path)


@pytest.mark.parametrize("name", ["model.onnx", "manifest.json"])
def test_out_or_summary_that_is_an_engine_file_is_refused(name, patches, own_engine, tmp_path):
    victim = own_engine / name
    before = snapshot(victim)
    assert_clean(cli("score", patches, "--engine", own_engine, "--out", victim), 2, "would be overwritten")
    assert_clean(cli("score", patches, "--engine", own_engine, "--summary", victim), 2, "would be overwritten")
    _untouched_by(None, before, tmp_path)
    read_manifest(own_engine)  # still an engine


def test_out_that_is_the_starter_model_is_refused(patches, tmp_path, monkeypatch, engine):
    starter = tmp_path / "starter.onnx"
    starter.write_bytes((engine / "model.onnx").read_bytes())
    monkeypatch.setenv("HCD_EDGE_STARTER_MODEL", str(starter))
    before = snapshot(starter)
    assert_clean(cli("score", patches, "--out", starter), 2, "would be overwritten")
    _untouched_by(None, before, tmp_path)


@pytest.mark.parametrize("link", [False, True])
def test_summary_equal_to_out_is_refused(link, patches, engine, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("earlier scores\n")
    summary = out
    if link:
        summary = tmp_path / "summary.json"
        summary.symlink_to(out)
    before = snapshot(out)
    result = cli("score", patches, "--engine", engine, "--out", out, "--summary", summary)
    assert_clean(result, 2, "same file")
    _untouched_by(result, before, tmp_path)


def test_kaggle_errors_file_that_is_an_input_is_refused(patches, engine, tmp_path):
    out = tmp_path / "sub.csv"
    victim = tmp_path / "sub.csv.errors.csv"  # a path list the user keeps: precious
    victim.write_text("path\n" + str(next(Path(patches).rglob("*.tif"))) + "\n")
    before = snapshot(victim)
    result = cli("score", patches, victim, "--engine", engine, "--out", out, "--format", "kaggle")
    assert_clean(result, 2, "would be overwritten")
    _untouched_by(result, before, tmp_path)


# ---- item 2: targets that are not regular files are never renamed over ----

def _char_device(tmp_path: Path, minor: int) -> Path:
    """A private copy of /dev/null (minor 3) or /dev/full (minor 7); the real one when not root."""
    real = Path({3: "/dev/null", 7: "/dev/full"}[minor])
    if not IS_ROOT:
        return real  # a non-root run cannot replace the real device even if the code were wrong
    node = tmp_path / real.name
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    return node


def test_out_and_summary_on_a_null_device_write_straight_and_leave_the_device(patches, engine, tmp_path):
    null = _char_device(tmp_path, 3)
    result = cli("score", patches, "--engine", engine, "--out", null, "--summary", null)
    assert_clean(result, 0)
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert not [p for p in null.parent.iterdir() if p.name.startswith((f"{null.name}.", f".{null.name}"))]


def test_out_on_a_full_device_is_a_clean_no_space_error(patches, engine, tmp_path):
    full = _char_device(tmp_path, 7)
    result = cli("score", patches, "--engine", engine, "--out", full)
    assert_clean(result, 1, "no space left on device")
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_out_on_a_fifo_streams_every_row_to_its_reader(patches, engine, tmp_path):
    fifo = tmp_path / "scores.fifo"
    os.mkfifo(fifo)
    received: list[str] = []

    def read():
        with open(fifo, encoding="utf-8") as fh:
            received.extend(fh)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = cli("score", patches, "--engine", engine, "--out", fifo)
    reader.join(timeout=30)
    assert_clean(result, 0)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    rows = list(csv.reader(received))
    assert rows[0][0] == "id" and len(rows) == N_PATCHES + 1


@pytest.mark.parametrize("extra", [["--format", "kaggle"], ["--resume"]])
def test_a_stream_out_refuses_what_needs_a_file_beside_it(extra, patches, engine, tmp_path):
    null = _char_device(tmp_path, 3)
    assert_clean(cli("score", patches, "--engine", engine, "--out", null, *extra), 2, "device or FIFO")


def test_out_that_is_a_socket_is_refused(patches, engine, tmp_path):
    path = tmp_path / "s.csv"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        assert_clean(cli("score", patches, "--engine", engine, "--out", path), 1, "a socket, not a file")
        assert stat.S_ISSOCK(os.stat(path).st_mode)


def test_out_through_a_symlink_replaces_the_target_and_keeps_the_link(patches, engine, tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert_clean(cli("score", patches, "--engine", engine, "--out", link), 0)
    assert link.is_symlink() and real.read_text().startswith("id,probability")


# ---- item 3: one atomic write, unique temporary names, the umask's mode ----

@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_and_manifest_get_the_mode_the_umask_allows(umask, mode, patches, engine, tmp_path):
    old = os.umask(umask)
    try:
        assert_clean(cli("score", patches, "--engine", engine, "--out", tmp_path / "s.csv",
                         "--summary", tmp_path / "sum.json"), 0)
        folder = tmp_path / "eng"
        folder.mkdir()
        write_manifest(folder, read_manifest(engine))
    finally:
        os.umask(old)
    for path in (tmp_path / "s.csv", tmp_path / "sum.json", folder / "manifest.json"):
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, path


def test_two_writers_of_one_target_use_distinct_temporary_files(tmp_path):
    target = tmp_path / "t.txt"
    with atomic_text(target) as first, atomic_text(target) as second:
        first.write("first")
        second.write("second")
        assert first.name != second.name
    assert target.read_text() == "first"  # the outer block finishes last and wins
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "t.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_text(target) as fh:
        fh.write("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_no_module_renames_files_into_place_except_the_atomic_helper():
    """The seven copies (manifest, score output, synthetic, train metrics/checkpoint/export,
    benchmarks) are gone: every os.replace / Path.replace / .tmp name lives in hcd_edge/atomic.py."""
    offenders = []
    for folder in ("hcd_edge", "train", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "atomic.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ("replace", "mkstemp"):
                    owner = node.value
                    if isinstance(owner, ast.Name) and owner.id in ("os", "tempfile"):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if isinstance(node, ast.Constant) and node.value == ".tmp":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} '.tmp'")
    assert not offenders, offenders


def test_bench_json_that_is_an_engine_file_is_refused(own_engine, patches, tmp_path):
    victim = own_engine / "manifest.json"
    before = snapshot(victim)
    result = cli("bench", own_engine, "--patches", patches, "--json", victim, "--batch", "1",
                 "--seconds", "0.01", "--warmup", "0")
    assert_clean(result, 2, "would be overwritten")
    _untouched_by(result, before, tmp_path)


def test_export_onto_its_own_checkpoint_is_refused(tmp_path):
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    before = snapshot(checkpoint)
    assert_clean(cli("export", checkpoint, "-o", checkpoint, "--force"), 2, "would be overwritten")
    _untouched_by(None, before, tmp_path)


def test_out_and_summary_on_stdout_go_to_the_pipe(patches, engine, tmp_path):
    from tests.hostile.helpers import spawn

    process = spawn(["score", patches, "--engine", engine, "--out", "/dev/stdout", "--format", "jsonl",
                     "--summary", "/dev/stdout"], tmp_path)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    lines = stdout.splitlines()
    assert sum(line.startswith('{"id"') for line in lines) == N_PATCHES
    assert '"counts"' in stdout  # the summary JSON follows the rows
    assert not [p for p in Path("/dev").iterdir() if p.name.startswith(("stdout.", ".stdout"))]
