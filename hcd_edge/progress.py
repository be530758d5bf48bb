"""Progress reporting for long work (builds, scoring): a small protocol and a silent default.

The rich terminal adapter lives in hcd_edge/cli/console.py: the library never draws.
"""

from __future__ import annotations

from typing import Protocol


class ProgressReporter(Protocol):
    """Receives named tasks (calibration, parity, TensorRT phases) and one-line notes."""

    def start(self, task: str, total: int | None) -> None:
        """A task with `total` steps (None: unknown) begins."""

    def advance(self, task: str, steps: int = 1) -> None:
        """`steps` more steps of `task` are done."""

    def finish(self, task: str) -> None:
        """The task ended (possibly before all its steps)."""

    def note(self, message: str) -> None:
        """A one-line message for the user (what is happening, what was decided)."""


class SilentProgress:
    """Reports nothing: the default for library callers."""

    def start(self, task: str, total: int | None) -> None:
        """Ignore."""

    def advance(self, task: str, steps: int = 1) -> None:
        """Ignore."""

    def finish(self, task: str) -> None:
        """Ignore."""

    def note(self, message: str) -> None:
        """Ignore."""
