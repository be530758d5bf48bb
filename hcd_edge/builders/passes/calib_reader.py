"""The CalibrationDataReader that feeds decoded patches to onnxruntime.quantization."""

from __future__ import annotations

import math

import numpy as np
from onnxruntime.quantization import CalibrationDataReader

from hcd_edge.spec import INPUT_NAME

CALIB_BATCH = 32  # patches per calibration run: one batch of activations held at a time


class PatchCalibrationReader(CalibrationDataReader):
    """Serves decoded patches (spec layout) in batches; supports ORT's strided calibration.

    ORT calls set_range(i, i + 1) then get_next() until None for each stride, so only one
    batch of intermediate activations is alive at a time, whatever the calibration method.
    """

    def __init__(self, inputs: np.ndarray, progress, task: str, batch: int = CALIB_BATCH):
        self._inputs = inputs
        self._batch = batch
        self._progress = progress
        self._task = task
        self._cursor = 0
        self._end = len(self)

    def __len__(self) -> int:
        """Number of batches."""
        return math.ceil(len(self._inputs) / self._batch)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Serve batches [start_index, end_index) next."""
        self._cursor, self._end = start_index, min(end_index, len(self))

    def get_next(self) -> dict | None:  # type: ignore[override]
        """The next batch as {input name: array}, or None when the range is done."""
        if self._cursor >= self._end:
            return None
        rows = self._inputs[self._cursor * self._batch : (self._cursor + 1) * self._batch]
        self._cursor += 1
        self._progress.advance(self._task, len(rows))
        return {INPUT_NAME: rows}
