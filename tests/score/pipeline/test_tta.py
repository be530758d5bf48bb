"""Test-time augmentation: the transforms, both layouts, and averaging against manual ORT runs."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from hcd_edge.backends.base import sigmoid
from hcd_edge.backends.engine_folder import open_executor
from hcd_edge.score.pipeline import PipelineConfig, ScoringPipeline
from hcd_edge.score.tta import Tta, average, expand_in_place, transform, transform_indices
from hcd_edge.spec import Layout


def test_eight_dihedral_transforms_are_distinct_and_flip_is_a_mirror():
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    images = {transform(x, i, Layout.NCHW).tobytes() for i in range(8)}
    assert len(images) == 8
    assert np.array_equal(transform(x, 4, Layout.NCHW), x[..., ::-1])
    assert np.array_equal(transform(x, 1, Layout.NCHW), np.rot90(x, 1, axes=(2, 3)))


def test_transforms_agree_between_nchw_and_nhwc_layouts():
    nhwc = np.random.default_rng(0).integers(0, 255, (3, 96, 96, 3), dtype=np.uint8)
    nchw = np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
    for i in range(8):
        a = transform(nchw, i, Layout.NCHW)
        b = transform(nhwc, i, Layout.NHWC)
        assert np.array_equal(a, b.transpose(0, 3, 1, 2))


def test_expand_in_place_lays_out_transform_major_rows():
    host = np.zeros((8, 3, 4, 4), np.float32)
    host[:2] = np.random.default_rng(1).normal(size=(2, 3, 4, 4))
    original = host[:2].copy()
    rows = expand_in_place(host, 2, Tta.FLIP, Layout.NCHW)
    assert rows == 4
    assert np.array_equal(host[:2], original)
    assert np.array_equal(host[2:4], original[..., ::-1])
    with pytest.raises(ValueError, match="need 16 rows"):
        expand_in_place(host, 2, Tta.DIHEDRAL, Layout.NCHW)


def test_average_means_probabilities_per_patch():
    p = np.array([0.1, 0.2, 0.3, 0.5])  # transform 0 of patches a, b; transform 1 of a, b
    assert np.allclose(average(p, 2, Tta.FLIP), [0.2, 0.35])
    assert transform_indices(Tta.NONE) == (0,) and Tta.DIHEDRAL.transforms == 8


def score_pixels(engine_dir, paths, tta, batch=4):
    with open_executor(engine_dir, threads=1) as ex:
        pipe = ScoringPipeline(ex, PipelineConfig(batch=batch, tta=tta))
        return np.concatenate([r.probabilities for r in pipe.run(paths)])


def test_flip_tta_scores_a_patch_and_its_mirror_equally(engine_dir, patch_paths, tmp_path):
    mirrored = []
    for i, path in enumerate(patch_paths[:5]):
        target = tmp_path / f"m{i}.tif"
        tifffile.imwrite(target, np.ascontiguousarray(tifffile.imread(path)[:, ::-1]), photometric="rgb")
        mirrored.append(target)
    plain = score_pixels(engine_dir, patch_paths[:5], Tta.NONE)
    original = score_pixels(engine_dir, patch_paths[:5], Tta.FLIP)
    flipped = score_pixels(engine_dir, mirrored, Tta.FLIP)
    assert np.allclose(original, flipped, rtol=0, atol=1e-7)
    assert not np.allclose(plain, original, rtol=0, atol=1e-7)  # TTA changed something


def test_dihedral_tta_equals_manual_average_over_eight_onnxruntime_runs(engine_dir, patch_paths):
    from hcd_edge.decode import decode_batch

    paths = patch_paths[:6]
    got = score_pixels(engine_dir, paths, Tta.DIHEDRAL, batch=3)
    with open_executor(engine_dir, threads=1) as ex:
        x = np.zeros(ex.spec.input_shape(len(paths)), np.float32)
        assert not decode_batch(paths, x, mean=ex.spec.mean, std=ex.spec.std).any()
        runs = [sigmoid(ex.infer(np.ascontiguousarray(np.rot90(
            x[..., ::-1] if i >= 4 else x, i % 4, axes=(2, 3))))) for i in range(8)]
    assert np.allclose(got, np.mean(runs, axis=0), rtol=0, atol=1e-7)
