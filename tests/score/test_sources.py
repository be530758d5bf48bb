"""hcd_edge.score.sources: inputs expand to PatchRefs sorted by path, whatever the mix of inputs."""

from __future__ import annotations

import random

import pytest

from hcd_edge.errors import DataError
from hcd_edge.score.sources import collect_patches, patch_ref, sort_key


def test_sort_key_orders_like_the_paths_themselves():
    names = ["a/b.tif", "a.b/c.tif", "a-b/c.tif", "a/b/c.tif", "A/b.tif", "a/b.tiff", "z.tif",
             "a/ba.tif", "a/b a.tif", "é/x.tif", "a/.tif", "a/b.c.tif"]
    refs = [patch_ref(f"/data/{n}") for n in names * 3]
    random.Random(0).shuffle(refs)
    assert sorted(refs, key=sort_key) == sorted(refs)


def test_collect_patches_merges_folders_files_and_lists_sorted_and_deduplicated(tmp_path):
    (tmp_path / "d").mkdir()
    for name in ("b.tif", "a.tif", "c.txt"):
        (tmp_path / "d" / name).write_bytes(b"x")
    (tmp_path / "e.tif").write_bytes(b"x")
    (tmp_path / "list.txt").write_text("d/a.tif\n# comment\n\ne.tif\n")
    refs = collect_patches([tmp_path / "list.txt", tmp_path / "d", tmp_path / "e.tif"])
    assert [r.path for r in refs] == [tmp_path / "d" / "a.tif", tmp_path / "d" / "b.tif", tmp_path / "e.tif"]
    assert [r.id for r in refs] == ["a", "b", "e"]


def test_collect_patches_keeps_directories_named_like_patches(tmp_path):
    (tmp_path / "odd.tif").mkdir()
    assert [r.id for r in collect_patches([tmp_path])] == ["odd"]


def test_collect_patches_refuses_an_input_that_does_not_exist(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        collect_patches([tmp_path / "nothing"])
