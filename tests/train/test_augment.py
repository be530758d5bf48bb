"""Augmentation and normalization: dihedral group, light jitter, the decoder's exact normalization."""

from __future__ import annotations

import numpy as np
import torch

from hcd_edge.decode import decode_batch
from hcd_edge.spec import PreprocessSpec
from hcd_edge.synthetic import generate_patches, write_synthetic_set
from hcd_edge.train.augment import (
    Augment,
    colour_jitter,
    dihedral,
    hed_jitter,
    normalize,
    random_dihedral,
    random_shift,
    to_unit,
    training_batch,
)

SPEC = PreprocessSpec(mean=(0.7, 0.55, 0.7), std=(0.15, 0.2, 0.15))


def test_normalization_matches_the_runtime_decoder(tmp_path):
    write_synthetic_set(tmp_path / "d", 6, seed=4)
    paths = sorted((tmp_path / "d" / "train").iterdir())
    decoded = np.zeros((6, 3, 96, 96), np.float32)
    raw = np.zeros((6, 96, 96, 3), np.uint8)
    decode_batch(paths, decoded, mean=SPEC.mean, std=SPEC.std)
    decode_batch(paths, raw)
    ours = normalize(to_unit(torch.from_numpy(raw)), SPEC).numpy()
    assert np.abs(ours - decoded).max() <= 1e-5


def test_dihedral_gives_eight_distinct_transforms_with_identity_first():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).reshape(2, 3, 4, 4)
    views = [dihedral(x, k) for k in range(8)]
    assert torch.equal(views[0], x)
    assert len({v.numpy().tobytes() for v in views}) == 8
    assert torch.equal(dihedral(dihedral(x, 1), 3), x)  # rotations compose


def test_random_dihedral_moves_pixels_without_changing_them():
    x = to_unit(torch.from_numpy(generate_patches(8, seed=2).pixels))
    y = random_dihedral(x, torch.Generator().manual_seed(0))
    for a, b in zip(x, y):
        assert any(torch.equal(dihedral(a[None], k)[0], b) for k in range(8))


def test_colour_jitter_is_light_and_stays_in_range():
    x = to_unit(torch.from_numpy(generate_patches(8, seed=2).pixels))
    y = colour_jitter(x, Augment(), torch.Generator().manual_seed(0))
    assert y.min() >= 0 and y.max() <= 1
    assert 0 < (y - x).abs().mean() < 0.08


def test_augmentation_off_is_plain_normalization():
    pixels = torch.from_numpy(generate_patches(4, seed=2).pixels)
    out = training_batch(pixels, SPEC, Augment.off(), torch.Generator().manual_seed(0))
    assert torch.equal(out, normalize(to_unit(pixels), SPEC))


def test_random_shift_translates_each_patch_by_at_most_the_limit():
    x = torch.rand(6, 3, 96, 96)
    y = random_shift(x, 3, torch.Generator().manual_seed(1))
    assert y.shape == x.shape
    for a, b in zip(x, y):
        matches = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
                   if torch.equal(b[:, 3:93, 3:93], a[:, 3 - dy:93 - dy, 3 - dx:93 - dx])]
        assert len(matches) == 1


def test_hed_jitter_of_strength_zero_gives_the_patch_back():
    x = to_unit(torch.from_numpy(generate_patches(4, seed=3).pixels)).clamp(min=1 / 255)
    y = hed_jitter(x, 0.0, torch.Generator().manual_seed(0))
    assert torch.allclose(x, y, atol=1e-5)


def test_hed_jitter_changes_stain_colour_lightly_per_patch():
    x = to_unit(torch.from_numpy(generate_patches(8, seed=3).pixels))
    y = hed_jitter(x, 0.05, torch.Generator().manual_seed(0))
    again = hed_jitter(x, 0.05, torch.Generator().manual_seed(0))
    assert torch.equal(y, again) and y.min() >= 0 and y.max() <= 1
    change = (y - x).abs().mean(dim=(1, 2, 3))
    assert (change > 0).all() and change.max() < 0.05
    assert not torch.allclose(change, change[0].expand_as(change))
