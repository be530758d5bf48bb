"""Build progress: notes always, bars only on a terminal."""

from __future__ import annotations

import io

from hcd_edge.cli.console import ConsoleProgress
from hcd_edge.progress import SilentProgress


def test_console_progress_off_a_terminal_prints_notes_only():
    stream = io.StringIO()
    progress = ConsoleProgress(stream)
    progress.start("calibrating", 10)
    progress.advance("calibrating", 5)
    progress.note("calibrating on 10 patches")
    progress.finish("calibrating")
    assert stream.getvalue() == "calibrating on 10 patches\n"


def test_console_progress_tolerates_unknown_and_nested_tasks():
    progress = ConsoleProgress(io.StringIO(), bars=True)
    progress.start("TensorRT: build", 3)
    progress.start("TensorRT: tactics", None)
    progress.advance("TensorRT: tactics")
    progress.advance("never started")
    progress.finish("TensorRT: tactics")
    progress.finish("TensorRT: build")
    progress.finish("never started")


def test_silent_progress_accepts_everything():
    progress = SilentProgress()
    progress.start("t", None)
    progress.advance("t", 3)
    progress.note("n")
    progress.finish("t")


def test_console_progress_with_rate_shows_items_per_second_and_eta():
    import time

    progress = ConsoleProgress(io.StringIO(), bars=True, rate=True)
    progress.start("scoring", 100)
    for _ in range(5):
        time.sleep(0.01)
        progress.advance("scoring", 10)
    (task,) = progress._progress.tasks
    assert task.fields["rate"].endswith("/s")
    rendered = io.StringIO()
    from rich.console import Console

    Console(file=rendered, width=120).print(progress._progress.make_tasks_table([task]))
    assert "ETA" in rendered.getvalue() and "/s" in rendered.getvalue()
    progress.finish("scoring")
