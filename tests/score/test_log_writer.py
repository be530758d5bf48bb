"""score's log writer thread: a Ctrl-C that loses a Queue wake-up must not hang the run's close."""

from __future__ import annotations

import threading

from hcd_edge.score.pipeline import StageSeconds
from hcd_edge.score.run import _LogWriter


def _closed_within(writer: _LogWriter, seconds: float) -> bool:
    done = threading.Thread(target=writer.close, daemon=True)
    done.start()
    done.join(seconds)
    return not done.is_alive()


def test_close_returns_and_everything_is_saved_when_wake_ups_are_lost():
    saved = []
    writer = _LogWriter(saved.append, StageSeconds())
    # What a KeyboardInterrupt inside Condition.notify() can leave behind: no wake-up at all.
    writer._queue.not_empty.notify = lambda n=1: None
    writer._queue.not_full.notify = lambda n=1: None
    for batch in range(10):
        writer.put(batch)
    assert _closed_within(writer, 10.0)
    assert saved == list(range(10))


def test_close_returns_when_the_end_marker_cannot_be_queued():
    release = threading.Event()
    saved = []

    def slow_save(batch):
        release.wait()
        saved.append(batch)

    writer = _LogWriter(slow_save, StageSeconds(), depth=2)
    for batch in range(3):  # one being saved, two queued: the queue is full
        writer.put(batch)
    release.set()
    assert _closed_within(writer, 10.0)
    assert saved == [0, 1, 2]
