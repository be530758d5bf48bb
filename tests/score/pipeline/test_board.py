"""The board between decode workers and the caller thread: a waiting caller wakes once per group."""

from __future__ import annotations

import queue
import threading

import numpy as np

from hcd_edge.score.pipeline import _END, _Board, _Decoded, _Failed

PATIENCE = 0.2  # seconds a caller that should stay asleep is given to (wrongly) wake


def _decoded(start: int) -> _Decoded:
    return _Decoded(slot=None, start=start, paths=[f"p{start}"], statuses=np.zeros(1, np.int32),  # type: ignore[arg-type]
                    rows=1)


def _free(slots: int) -> queue.Queue:
    free: queue.Queue = queue.Queue()
    for i in range(slots):
        free.put(i)
    return free


class _Caller:
    """board.take() in a thread of its own, as the pipeline's caller thread calls it."""

    def __init__(self, board: _Board):
        self.taken: list = []
        self.waited: list[bool] = []
        self._thread = threading.Thread(target=lambda: self._take(board), daemon=True)
        self._thread.start()

    def _take(self, board: _Board) -> None:
        posted, waited = board.take()
        self.taken += posted
        self.waited.append(waited)

    def asleep(self) -> bool:
        self._thread.join(PATIENCE)
        return self._thread.is_alive()

    def woke_with(self) -> list:
        self._thread.join(10)
        assert not self._thread.is_alive(), "the caller never woke"
        assert self.waited == [True]
        return [start for start, _ in self.taken]


def test_a_waiting_caller_sleeps_until_a_group_is_posted():
    board = _Board(wake_batches=3, free=_free(2))
    caller = _Caller(board)
    board.post(0, _decoded(0))
    board.post(1, _decoded(1))
    assert caller.asleep()
    board.post(2, _decoded(2))
    assert caller.woke_with() == [0, 1, 2]


def test_what_is_posted_is_taken_at_once_by_a_caller_that_is_awake():
    board = _Board(wake_batches=4, free=_free(2))
    board.post(5, _decoded(5))
    posted, waited = board.take()  # no waiting: it would only delay a slow engine
    assert [start for start, _ in posted] == [5] and not waited


def test_a_worker_without_free_slots_wakes_the_caller():
    free = _free(1)
    board = _Board(wake_batches=4, free=free)
    caller = _Caller(board)
    free.get()  # the last free slot is taken: no more batches can come until the caller frees one
    board.post(0, _decoded(0))
    assert caller.woke_with() == [0]


def test_an_ended_or_failed_worker_wakes_the_caller():
    for last in (_END, _Failed(RuntimeError("x"), ["p1"])):
        board = _Board(wake_batches=4, free=_free(3))
        caller = _Caller(board)
        board.post(0, _decoded(0))
        board.post(1, last)
        assert caller.woke_with() == [0, 1]
