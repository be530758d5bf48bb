"""Progress of `hcd-edge score` on stderr: a bar with rate and ETA on a terminal, notes always."""

from __future__ import annotations

import sys
import threading
from typing import TextIO


class ScoreProgress:
    """BuildProgress for scoring (and the default engine's build): rich bars on a terminal only."""

    def __init__(self, stream: TextIO | None = None, bars: bool | None = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._console = Console(file=stream if stream is not None else sys.stderr,
                                highlight=False, soft_wrap=True)
        self._bars = self._console.is_terminal if bars is None else bars
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        self._tasks: dict[str, object] = {}
        self._lock = threading.Lock()

    def start(self, task: str, total: int | None) -> None:
        """Show a bar for the task (terminal only)."""
        if not self._bars:
            return
        with self._lock:
            if not self._tasks:
                self._progress.start()
            self._tasks[task] = self._progress.add_task(task, total=total, rate="")

    def advance(self, task: str, steps: int = 1) -> None:
        """Move the task's bar on and refresh its rate (items per second)."""
        with self._lock:
            task_id = self._tasks.get(task)
            if task_id is None:
                return
            self._progress.advance(task_id, steps)  # type: ignore[arg-type]
            speed = next((t.speed for t in self._progress.tasks if t.id == task_id), None)
            rate = f"{speed:,.0f}/s" if speed else ""
            self._progress.update(task_id, rate=rate)  # type: ignore[arg-type]

    def finish(self, task: str) -> None:
        """Remove the task's bar; stop the display when none is left."""
        with self._lock:
            task_id = self._tasks.pop(task, None)
            if task_id is None:
                return
            self._progress.remove_task(task_id)  # type: ignore[arg-type]
            if not self._tasks:
                self._progress.stop()

    def note(self, message: str) -> None:
        """Print a line (above the bars on a terminal)."""
        with self._lock:
            self._console.print(message, markup=False)
