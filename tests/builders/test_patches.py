"""Calibration / validation split: deterministic, disjoint, independent of listing order."""

from __future__ import annotations

import shutil

import numpy as np

from hcd_edge.builders.patches import decode_all, hash_order, plan_patches, redraw_validation
from hcd_edge.progress import SilentProgress
from hcd_edge.score.sources import patch_ref
from tests.tiny_models import TINY_SPEC


def test_hash_order_ignores_listing_order(tmp_path):
    refs = [patch_ref(tmp_path / f"{i:04d}.tif") for i in range(50)]
    shuffled = list(reversed(refs))
    assert [refs[i].id for i in hash_order(refs)] == [shuffled[i].id for i in hash_order(shuffled)]
    assert [refs[i].id for i in hash_order(refs)] != [r.id for r in refs]  # not the name order


def test_split_of_one_source_is_disjoint_and_repeatable(patches):
    first = plan_patches(patches.root, None, 32, 1000)
    second = plan_patches(patches.root, None, 32, 1000)
    calib, val = {r.path for r in first.calib_refs}, {r.path for r in first.val_refs}
    assert len(calib) == 32 and len(val) == 128 and not calib & val
    assert first.calib_refs == second.calib_refs and first.val_refs == second.val_refs
    assert [patches.labels[r.id] for r in first.val_refs] == first.val_labels.tolist()


def test_small_source_keeps_a_quarter_for_validation(patches):
    plan = plan_patches(patches.root, None, 512, 1000)
    assert len(plan.val_refs) == 40 and len(plan.calib_refs) == 120


def test_explicit_validation_excludes_calibration_patches(patches):
    plan = plan_patches(patches.root, patches.root, 32, 1000)
    assert len(plan.val_refs) == 128
    assert not {r.path for r in plan.calib_refs} & {r.path for r in plan.val_refs}


def test_validation_recipe_redraws_the_same_set(patches):
    plan = plan_patches(patches.root, None, 32, 64)
    again = redraw_validation(plan.val_recipe)
    assert again.val_refs == plan.val_refs and np.array_equal(again.val_labels, plan.val_labels)


def test_validation_recipe_of_absent_patches_gives_none(tmp_path, patches):
    moved = tmp_path / "gone"
    shutil.copytree(patches.root, moved)
    recipe = plan_patches(moved, None, 32, 64).val_recipe
    shutil.rmtree(moved)
    assert redraw_validation(recipe) is None


def test_decode_all_skips_and_names_unreadable_files(patches, tmp_path):
    good = sorted((patches.root / "train").iterdir())[:3]
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff at all")
    refs = [patch_ref(p) for p in [good[0], bad, *good[1:]]]
    data = decode_all(refs, TINY_SPEC, None, SilentProgress(), "t")
    assert data.count == 3 and data.inputs.shape == (3, 3, 96, 96)
    assert data.kept.tolist() == [0, 2, 3] and data.skipped[0].startswith(str(bad))
