"""Training progress: a silent default and a console reporter (rich bar with live loss and AUC)."""

from __future__ import annotations

import math
import sys
from typing import Any, Protocol, TextIO

from hcd_edge.train.metrics import EpochRecord


class TrainProgress(Protocol):
    """Receives the run's epochs and steps."""

    def note(self, message: str) -> None:
        """A one-line message (data loaded, stage started, early stop, files written)."""

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Epoch `epoch` (1-based) of at most `epochs` starts, with `steps` batches."""

    def step(self, loss: float) -> None:
        """One batch done with this running mean training loss."""

    def epoch_end(self, record: EpochRecord, best_auc: float) -> None:
        """The epoch's metrics, and the best validation AUC so far."""


class SilentProgress:
    """Reports nothing: the default for library callers and tests."""

    def note(self, message: str) -> None:
        """Ignore."""

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Ignore."""

    def step(self, loss: float) -> None:
        """Ignore."""

    def epoch_end(self, record: EpochRecord, best_auc: float) -> None:
        """Ignore."""


class ConsoleProgress:
    """A rich bar per epoch on a terminal; one line per epoch on a terminal or a pipe."""

    def __init__(self, stream: TextIO | None = None, bars: bool | None = None):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self._bars = self._console.is_terminal if bars is None else bars
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(),
                                  console=self._console, transient=True)
        self._task: Any = None  # rich TaskID of the epoch's bar
        self._best = float("nan")

    def note(self, message: str) -> None:
        """Print the message."""
        self._console.print(message, markup=False)

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Show a bar for the epoch (terminal only)."""
        if not self._bars:
            return
        self._progress.start()
        best = "" if math.isnan(self._best) else f" (best val AUC {self._best:.4f})"
        self._task = self._progress.add_task(f"epoch {epoch}/{epochs}{best}", total=steps, loss=float("nan"))

    def step(self, loss: float) -> None:
        """Advance the bar and show the running loss."""
        if self._task is not None:
            self._progress.update(self._task, advance=1, loss=loss)

    def epoch_end(self, record: EpochRecord, best_auc: float) -> None:
        """Remove the bar and print the epoch's line."""
        if self._task is not None:
            self._progress.remove_task(self._task)
            self._progress.stop()
            self._task = None
        self._best = best_auc
        self._console.print(
            f"epoch {record.epoch:3d}  train loss {record.train_loss:.4f} acc {record.train_acc:.4f}"
            f"  | val loss {record.val_loss:.4f} acc {record.val_acc:.4f} AUC {record.val_auc:.4f}"
            f"  | lr {record.lr:.2e}  {record.seconds:.1f} s", markup=False)
