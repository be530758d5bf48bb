"""Types of the native decoder extension built from csrc/_tiffdec.pyx (see hcd_edge.decode)."""

import os
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np

NEEDS_FALLBACK: int
NO_MEMORY: int
MAX_FILE_BYTES: int
KERNELS: tuple[str, ...]

_Path: TypeAlias = str | bytes | os.PathLike[str] | os.PathLike[bytes]

def supported_kernels() -> list[str]: ...
def decode_batch(
    paths: Sequence[_Path],
    out: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    threads: int,
    kernel: str | None = None,
    stream: bool | None = None,
) -> np.ndarray: ...
def read_batch(paths: Sequence[_Path], threads: int) -> np.ndarray: ...
def decode_bytes(
    data: bytes | bytearray | memoryview | np.ndarray,
    out_row: np.ndarray,
    mean: Sequence[float],
    std: Sequence[float],
    kernel: str | None = None,
    stream: bool | None = None,
) -> int: ...
def lut_tables(mean: Sequence[float], std: Sequence[float]) -> tuple[np.ndarray, np.ndarray]: ...
def f32_to_f16(values: np.ndarray) -> np.ndarray: ...
