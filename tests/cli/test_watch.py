"""`hcd-edge watch` on the command line: help, options, --once exit codes."""

from __future__ import annotations

from click.testing import CliRunner

from hcd_edge.cli import main
from tests.score.helpers import make_tiny_engine
from tests.watch.helpers import drop, patch_bytes, read_rows


def test_watch_help_lists_every_option():
    result = CliRunner().invoke(main, ["watch", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--engine", "--patterns", "--slide-patterns", "--settle",
                   "--batch-window", "--once", "--polling", "--rescan"):
        assert option in result.output


def test_watch_once_scores_a_folder_and_exits_3_on_error_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    engine = make_tiny_engine(tmp_path / "engine")
    incoming, out = tmp_path / "in", tmp_path / "out"
    drop(incoming, ["a.tif", "b.tif"], patch_bytes(2))
    args = ["watch", str(incoming), "--out", str(out), "--engine", str(engine), "--once",
            "--settle", "0"]
    assert CliRunner().invoke(main, args).exit_code == 0
    (incoming / "broken.tif").write_bytes(b"not a tiff")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 3, result.output
    assert [r["id"] for r in read_rows(out)] == ["a", "b", "broken"]


def test_watch_refuses_bad_patterns_and_a_missing_folder(tmp_path):
    result = CliRunner().invoke(main, ["watch", str(tmp_path), "--out", str(tmp_path / "o"),
                                       "--patterns", ","])
    assert result.exit_code == 2 and "names no file pattern" in result.output
    result = CliRunner().invoke(main, ["watch", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert result.exit_code == 2


def test_watch_gives_back_the_signal_handlers_it_took(tmp_path, monkeypatch):
    import signal

    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    engine = make_tiny_engine(tmp_path / "engine")
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    (tmp_path / "in").mkdir()
    args = ["watch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--engine", str(engine),
            "--once"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
