"""Rich progress bars and notes on the terminal for the CLI (the library reports through
hcd_edge.progress)."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO


class ConsoleProgress:
    """Rich progress bars on a terminal; on a pipe or file only the notes, one per line.

    Thread-safe: TensorRT calls its progress monitor from builder threads.
    """

    def __init__(self, stream: TextIO | None = None, bars: bool | None = None, *,
                 rate: bool = False):
        """rate=True adds items/s and an ETA to each bar (scoring); builds show elapsed time."""
        stream = stream if stream is not None else sys.stderr
        self._stream, self._lock = stream, threading.Lock()
        self._tasks: dict[str, object] = {}
        self._console: Any = None
        self._progress: Any = None
        self._rate = rate
        if bars is None and not _isatty(stream):
            self._bars = False  # a pipe or a file: plain lines, and no rich to import (start-up)
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._console = Console(file=stream, highlight=False, soft_wrap=True)
        self._bars = self._console.is_terminal if bars is None else bars
        self._rate = rate
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
        if rate:
            columns.append(TextColumn("{task.fields[rate]}"))
        columns.append(TimeElapsedColumn())
        if rate:
            columns += [TextColumn("ETA"), TimeRemainingColumn()]
        self._progress = Progress(*columns, console=self._console, transient=True)

    def start(self, task: str, total: int | None) -> None:
        """Show a bar for the task (terminal only)."""
        if not self._bars:
            return
        with self._lock:
            if not self._tasks:
                self._progress.start()
            self._tasks[task] = self._progress.add_task(task, total=total, rate="")

    def advance(self, task: str, steps: int = 1) -> None:
        """Move the task's bar on (and refresh its items/s when showing rates)."""
        with self._lock:
            task_id = self._tasks.get(task)
            if task_id is None:
                return
            self._progress.advance(task_id, steps)  # type: ignore[arg-type]
            if self._rate:
                speed = next((t.speed for t in self._progress.tasks if t.id == task_id), None)
                self._progress.update(task_id, rate=f"{speed:,.0f}/s" if speed else "")  # type: ignore[arg-type]

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
        """Print the message (above the bars on a terminal)."""
        with self._lock:
            if self._console is None:
                self._stream.write(message + "\n")
                self._stream.flush()
            else:
                self._console.print(message, markup=False)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False
