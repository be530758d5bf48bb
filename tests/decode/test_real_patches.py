"""The 5,000 real Kaggle patches decode identically to tifffile (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from hcd_edge.decode import DecodeStats, decode_batch
from tests.decode.conftest import require_native
from tests.decode.test_normalize import numpy_reference
from tests.realdata import real_patch_dir


@pytest.fixture(scope="module")
def real_paths() -> list[Path]:
    return sorted((real_patch_dir() / "train").glob("*.tif"))


@pytest.mark.real_data
def test_all_real_patches_decode_natively_and_equal_tifffile(real_paths):
    require_native()
    assert len(real_paths) == 5000
    out = np.empty((len(real_paths), 96, 96, 3), dtype=np.uint8)
    stats = DecodeStats()
    statuses = decode_batch(real_paths, out, threads=2, stats=stats)
    assert not statuses.any()
    assert stats.native == 5000 and stats.fallback == 0
    for i, path in enumerate(real_paths):
        np.testing.assert_array_equal(out[i], tifffile.imread(path), err_msg=str(path))


@pytest.mark.real_data
def test_real_patches_normalize_like_numpy(real_paths):
    mean, std = (0.70, 0.54, 0.69), (0.23, 0.27, 0.21)
    sample = real_paths[::50]
    out = np.empty((len(sample), 3, 96, 96), dtype=np.float32)
    assert not decode_batch(sample, out, mean=mean, std=std).any()
    for i, path in enumerate(sample):
        np.testing.assert_array_equal(out[i], numpy_reference(tifffile.imread(path), mean, std))
