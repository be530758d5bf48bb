"""hcd_edge.score.sources: inputs expand to PatchRefs sorted by path, whatever the mix of inputs."""

from __future__ import annotations

import random

import pytest

from hcd_edge.errors import DataError
from hcd_edge.score import sources
from hcd_edge.score.sources import (
    check_duplicates,
    collect_patches,
    list_inputs,
    patch_ref,
    read_list_paths,
    sort_key,
)


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


def test_list_inputs_gives_path_order_for_any_mix_of_folders_lists_and_names(tmp_path):
    names = ["a/b.tif", "a.b/c.tif", "a-b/c.tif", "a/b/c.tif", "A/b.tif", "a/b.tiff", "z.tif",
             "a/ba.tif", "a/b a.tif", "é/x.tif", "a/.tif", "a/b.c.tif", "a/b/c/d.tif"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    listing = tmp_path / "list.txt"
    shuffled = names * 2
    random.Random(1).shuffle(shuffled)
    listing.write_text("".join(f"./{n}\n" if i % 3 else f"{tmp_path}//{n}\n" for i, n in enumerate(shuffled)))
    expected = sorted(patch_ref(tmp_path / n) for n in names)
    for inputs, recursive in (([listing], False), ([tmp_path], True), ([listing, tmp_path / "a"], False)):
        assert list_inputs(inputs, recursive=recursive).paths == [str(r.path) for r in expected]


def test_ids_unique_is_claimed_only_when_no_two_paths_share_an_id(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    for name in ("a.tif", "b.tif"):
        (one / name).write_bytes(b"x")
    assert list_inputs([one]).ids_unique and check_duplicates(list_inputs([one]).paths) == []
    (one / "a.TIFF").write_bytes(b"x")
    inputs = list_inputs([one])
    assert not inputs.ids_unique
    assert check_duplicates(inputs.paths) == [(1, 0)]  # a.tif sorts after a.TIFF: it repeats


def test_a_list_is_read_in_chunks_with_comments_blank_lines_and_a_bom(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "LIST_CHUNK_BYTES", 64)
    paths = [f"p{i:04d}.tif" for i in range(300)]
    (tmp_path / "l.txt").write_text("\ufeff# made by hand\n\n" + "\n".join(paths) + "\n",
                                    encoding="utf-8")
    assert read_list_paths(str(tmp_path / "l.txt")) == [f"{tmp_path}/{p}" for p in paths]


def test_a_list_of_ids_is_refused_naming_its_first_row(tmp_path):
    (tmp_path / "ids.txt").write_text("f38a6374c348f90b\nc18f2d887b7ae4f6\n")
    with pytest.raises(DataError, match=r"ids\.txt: its rows are not patch paths \(the first is 'f38a"):
        list_inputs([tmp_path / "ids.txt"])


def test_a_csv_header_other_than_path_is_not_taken_for_a_patch(tmp_path):
    (tmp_path / "l.csv").write_text("file,site\na.tif,x\nb.tif,y\n")
    assert read_list_paths(str(tmp_path / "l.csv")) == [f"{tmp_path}/a.tif", f"{tmp_path}/b.tif"]
    (tmp_path / "m.csv").write_text("a.tif,x\nb.tif,y\n")
    assert read_list_paths(str(tmp_path / "m.csv")) == [f"{tmp_path}/a.tif", f"{tmp_path}/b.tif"]


def test_one_folder_is_held_as_its_prefix_and_bare_names_and_reads_as_full_paths(tmp_path):
    from hcd_edge.score.sources import FolderPaths, list_inputs

    folder = tmp_path / "patches"
    folder.mkdir()
    for name in ("b.tif", "a.tif", "c.tiff"):
        (folder / name).write_bytes(b"")
    paths = list_inputs([folder]).paths
    assert isinstance(paths, FolderPaths) and paths.names == ["a.tif", "b.tif", "c.tiff"]
    full = [f"{folder}/a.tif", f"{folder}/b.tif", f"{folder}/c.tiff"]
    assert list(paths) == full and paths == full and len(paths) == 3
    assert paths[1] == full[1] and paths[-1] == full[-1] and paths[1:] == full[1:]
    assert full[2] in paths


def test_a_list_file_of_one_folder_is_held_compactly_too(tmp_path):
    from hcd_edge.score.sources import FolderPaths, list_inputs

    folder = tmp_path / "patches"
    folder.mkdir()
    for name in ("b.tif", "a.tif"):
        (folder / name).write_bytes(b"")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{folder}/b.tif\n{folder}/a.tif\n")
    paths = list_inputs([listing]).paths
    assert isinstance(paths, FolderPaths) and paths.names == ["a.tif", "b.tif"]
    assert list(paths) == [f"{folder}/a.tif", f"{folder}/b.tif"]


def test_a_list_file_that_leaves_its_folder_is_held_in_full_in_path_order(tmp_path):
    from hcd_edge.score.sources import FolderPaths, list_inputs

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.tif").write_bytes(b"")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{tmp_path}/b/x.tif\n{tmp_path}/a/x.tif\n{tmp_path}/b/x.tif\n")
    paths = list_inputs([listing]).paths
    assert not isinstance(paths, FolderPaths)
    assert list(paths) == [f"{tmp_path}/a/x.tif", f"{tmp_path}/b/x.tif"]


def test_names_in_one_folder_are_found_with_string_wide_operations():
    from hcd_edge.score.sources import _names_in

    assert _names_in("/d/", ["/d/a.tif", "/d/b.tif"]) == ["a.tif", "b.tif"]
    assert _names_in("/d/", []) == []
    assert _names_in("", ["a.tif", "b.tif"]) == ["a.tif", "b.tif"]
    assert _names_in("/d/", ["/d/a.tif", "/d/sub/b.tif"]) is None  # a subfolder
    assert _names_in("/d/", ["/d/a.tif", "/e/b.tif"]) is None  # another folder
    assert _names_in("/d/", ["/d/a.tif", "/e/d/b.tif"]) is None  # the prefix, but not at the start
    assert _names_in("/d/", ["/d/a\n/d/b.tif"]) is None  # a newline inside a path
    assert _names_in("", ["a.tif", "s/b.tif"]) is None


def test_a_folder_with_other_files_and_upper_case_suffixes_keeps_only_patches(tmp_path):
    for name in ("b.tif", "A.TIF", "c.Tiff", "notes.txt", "d.tiff", "e.tif.bak"):
        (tmp_path / name).write_bytes(b"")
    assert list_inputs([tmp_path]).paths.names == ["A.TIF", "b.tif", "c.Tiff", "d.tiff"]


def test_a_list_mixing_relative_absolute_blank_and_comment_lines_in_one_chunk(tmp_path):
    (tmp_path / "l.txt").write_text(f"a.tif\n{tmp_path}/b.tif\n\n  # note\nsub/c.tif\n  d.tif  \n")
    assert read_list_paths(str(tmp_path / "l.txt")) == [f"{tmp_path}/{n}" for n in ("a.tif", "b.tif", "sub/c.tif",
                                                                                   "d.tif")]
