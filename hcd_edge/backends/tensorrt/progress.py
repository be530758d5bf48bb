"""TensorRT's build progress (IProgressMonitor phases and steps) forwarded to a ProgressReporter."""

from __future__ import annotations

import tensorrt as trt


class TrtProgressMonitor(trt.IProgressMonitor):
    """One progress task per optimizer phase; top-level phases also become notes.

    TensorRT calls these from its builder threads; ProgressReporter implementations lock.
    """

    def __init__(self, progress) -> None:
        trt.IProgressMonitor.__init__(self)
        self._progress = progress

    def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
        """A phase of `num_steps` steps begins (inside `parent_phase`, or top level when None)."""
        if parent_phase is None:
            self._progress.note(f"TensorRT: {phase_name}")
        self._progress.start(f"TensorRT: {phase_name}", num_steps)

    def step_complete(self, phase_name: str, step: int) -> bool:
        """One step of the phase is done; True lets the build go on."""
        self._progress.advance(f"TensorRT: {phase_name}")
        return True

    def phase_finish(self, phase_name: str) -> None:
        """The phase ended."""
        self._progress.finish(f"TensorRT: {phase_name}")
