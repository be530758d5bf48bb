"""CPU seconds per thread of this process, by role: where the cores go during one `score()` call.

Stage wall times overlap and, when threads outnumber cores, include time spent preempted; the
CPU clock of each thread does not. A poller reads every live thread's CPU clock
(`pthread_getcpuclockid`) every few milliseconds and keeps the last reading, so a thread that
ends (the pipeline's workers end with the run) keeps what it used up to its last poll.

    with ThreadCpu() as cpu:
        score(request)
    cpu.by_role()   # {"decode": 10.6, "main": 1.2, "log writer": 0.9, "render": 0.6}
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

# Thread names hcd-edge gives its threads -> the role reported; others are "other".
ROLES = (("hcd-edge-decode", "decode"), ("hcd-edge-log", "log writer"),
         ("hcd-edge-render", "render"), ("MainThread", "main"))


def role_of(name: str) -> str:
    """The role of a thread by its name (e.g. hcd-edge-decode-1 -> decode)."""
    return next((role for prefix, role in ROLES if name.startswith(prefix)), "other")


def supported() -> bool:
    """Whether threads' CPU clocks can be read here (POSIX with pthread_getcpuclockid)."""
    return hasattr(time, "pthread_getcpuclockid")


@dataclass
class ThreadCpu:
    """Polls every thread's CPU clock while the block runs; by_role() sums them (seconds)."""

    interval: float = 0.005  # seconds between polls: a thread's last <5 ms may go uncounted
    # (ident, native id) -> (name, CPU s); both ids, since a pthread ident is reused at once
    _last: dict[tuple, tuple[str, float]] = field(default_factory=dict)
    _start: dict[tuple, float] = field(default_factory=dict)  # CPU s of threads alive at the start
    _stop: threading.Event = field(default_factory=threading.Event)
    _poller: threading.Thread | None = None

    def __enter__(self) -> ThreadCpu:  # noqa: PYI034 - typing.Self is 3.11+, we support 3.10
        if not supported():
            return self
        self._start = {key: cpu for key, (_, cpu) in self._read().items()}
        self._poller = threading.Thread(target=self._poll, name="benchmark-thread-cpu", daemon=True)
        self._poller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._poller is not None:
            self._stop.set()
            self._poller.join()
            self._last.update(self._read())

    def by_role(self) -> dict[str, float]:
        """CPU seconds used inside the block, summed per role (the poller itself left out)."""
        totals: dict[str, float] = {}
        for key, (name, cpu) in self._last.items():
            if self._poller is not None and key[0] == self._poller.ident:
                continue
            role = role_of(name)
            totals[role] = totals.get(role, 0.0) + cpu - self._start.get(key, 0.0)
        return totals

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            self._last.update(self._read())

    @staticmethod
    def _read() -> dict[tuple, tuple[str, float]]:
        readings = {}
        for thread in threading.enumerate():
            if thread.ident is None:
                continue
            try:
                clock = time.pthread_getcpuclockid(thread.ident)
                readings[(thread.ident, thread.native_id)] = (thread.name, time.clock_gettime(clock))
            except (OSError, ProcessLookupError):  # ended between enumerate() and the read
                continue
        return readings
