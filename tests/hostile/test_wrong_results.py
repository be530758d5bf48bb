"""Items 7-13 of issue 11: no wrong result is ever reported as a success."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hcd_edge.decode import decode_bytes
from hcd_edge.manifest import MANIFEST_NAME
from hcd_edge.model_info import ModelInfo, write_props
from hcd_edge.score.partial import partial_path
from tests.decode.tiffbytes import Ifd, deflate_of, kaggle_tiff, patch_pixels, replace_strip
from tests.hostile.conftest import N_PATCHES
from tests.hostile.helpers import assert_clean, cli
from tests.tiny_models import TINY_SPEC, write_tiny_cnn

# ---- item 7: non-finite thresholds ----

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-0.1", "1.5"])
def test_a_threshold_that_is_not_a_probability_is_a_usage_error(value, patches, engine):
    assert_clean(cli("score", patches, "--engine", engine, f"--threshold={value}"), 2, "--threshold")


@pytest.mark.parametrize("value", ["NaN", "Infinity", '"abc"', "true", "null", "2"])
def test_a_manifest_threshold_that_is_not_a_probability_refuses_the_engine(value, patches, own_engine):
    manifest = own_engine / MANIFEST_NAME
    manifest.write_text(re.sub(r'"threshold": [^,\n]+', f'"threshold": {value}', manifest.read_text()))
    result = cli("score", patches, "--engine", own_engine)
    assert_clean(result, 1, "threshold")
    assert not (own_engine.parent / "scores.csv").exists()


# ---- item 8: corrupt Deflate strips are refused, like tifffile refuses them ----

def _deflate_tiff(payload: bytes) -> bytes:
    return Ifd(replace_strip(kaggle_tiff(), payload)).set_entry(259, value=8).bytes()


@pytest.mark.parametrize("damage", ["bad adler-32", "no stream end", "too long"])
def test_a_corrupt_deflate_strip_is_not_decoded(damage):
    raw = patch_pixels().tobytes()
    good = deflate_of(raw)
    payload = {
        "bad adler-32": good[:-4] + bytes(b ^ 0xFF for b in good[-4:]),
        "no stream end": good[:-6],
        "too long": deflate_of(raw + raw),
    }[damage]
    row = np.zeros((96, 96, 3), np.uint8)
    assert decode_bytes(_deflate_tiff(good), row) == 0  # the intact strip decodes
    assert decode_bytes(_deflate_tiff(payload), row) != 0


# ---- items 9-11: names and lists (i16) ----

def test_a_carriage_return_in_a_name_keeps_its_csv_row_whole(patches, engine, tmp_path):
    (patches / "odd\rname.tif").write_bytes((patches / "p00000.tif").read_bytes())
    assert_clean(cli("score", patches, "--engine", engine, "--out", tmp_path / "s.csv"), 0)
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == N_PATCHES + 2 and "odd\rname" in [r[0] for r in rows]


def test_a_list_with_a_utf8_bom_reads_its_header_as_a_header(patches, engine, tmp_path):
    listing = tmp_path / "list.csv"
    listing.write_text("\ufeffpath\n" + "".join(f"{p}\n" for p in sorted(patches.iterdir())),
                       encoding="utf-8")
    assert_clean(cli("score", listing, "--engine", engine, "--out", tmp_path / "s.csv"), 0)
    assert (tmp_path / "s.csv").read_text().count("\n") == N_PATCHES + 1


def test_a_folder_named_like_a_patch_given_directly_gets_a_row(patches, engine, tmp_path):
    folder = tmp_path / "x.tif"
    folder.mkdir()
    result = cli("score", patches, folder, "--engine", engine, "--out", tmp_path / "s.csv")
    assert_clean(result, 3)
    with open(tmp_path / "s.csv", encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    assert rows["x"]["status"] == "2"  # NOT_A_FILE, as inside a folder


# ---- item 12: build-engine checks the model against the preprocessing spec ----

def _model(path, input_shape, *, elem=TensorProto.FLOAT, outputs=1):
    """GlobalAveragePool-Flatten-Gemm over `input_shape`, with hcd-edge metadata."""
    channels = input_shape[1]
    nodes = [helper.make_node("GlobalAveragePool", ["input"], ["gap"]),
             helper.make_node("Flatten", ["gap"], ["flat"]),
             helper.make_node("Gemm", ["flat", "w", "b"], ["logit"], transB=1)]
    outs = [helper.make_tensor_value_info("logit", TensorProto.FLOAT, [input_shape[0], 1])]
    if outputs == 2:
        outs.append(helper.make_tensor_value_info("flat", TensorProto.FLOAT, [input_shape[0], channels]))
    graph = helper.make_graph(
        nodes, "odd", [helper.make_tensor_value_info("input", elem, input_shape)], outs,
        [numpy_helper.from_array(np.ones((1, channels), np.float32), "w"),
         numpy_helper.from_array(np.zeros(1, np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    write_props(model, ModelInfo(spec=TINY_SPEC, threshold=0.5, architecture="odd").to_props())
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("shape,elem,outputs,found", [
    (["N", 3, 224, 224], TensorProto.FLOAT, 1, "224"),
    (["N", 1, 96, 96], TensorProto.FLOAT, 1, "['N', 1, 96, 96]"),
    (["N", 96, 96, 3], TensorProto.FLOAT, 1, "['N', 96, 96, 3]"),
    ([1, 3, 96, 96], TensorProto.FLOAT, 1, "[1, 3, 96, 96]"),
    (["N", 3, 96, 96], TensorProto.FLOAT, 2, "2: "),
    (["N", 3, 96, 96], TensorProto.DOUBLE, 1, "'input'"),
])
def test_build_engine_refuses_a_model_score_could_not_run(shape, elem, outputs, found, tmp_path):
    model = _model(tmp_path / "odd.onnx", shape, elem=elem, outputs=outputs)
    result = cli("build-engine", model, "--backend", "onnxruntime", "--out", tmp_path / "eng")
    assert_clean(result, 1, "expected", "found", found)
    assert not (tmp_path / "eng").exists()


def test_build_engine_still_accepts_a_model_that_fits(tmp_path):
    model = write_tiny_cnn(tmp_path / "tiny.onnx")
    assert_clean(cli("build-engine", model, "--backend", "onnxruntime", "--out", tmp_path / "eng"), 0)


# ---- item 13: partial rows are validated on resume (i16) ----

def test_an_edited_partial_row_makes_resume_refuse_naming_the_line(patches, engine, tmp_path, monkeypatch):
    from hcd_edge.score import partial

    append = partial.PartialLog.append

    def first_batch_then_ctrl_c(self, rows):
        append(self, rows)
        raise KeyboardInterrupt

    out = tmp_path / "s.csv"
    with monkeypatch.context() as patch:
        patch.setattr(partial.PartialLog, "append", first_batch_then_ctrl_c)
        assert_clean(cli("score", patches, "--engine", engine, "--out", out, "--batch", "4"), 130)
    log = partial_path(out)
    lines = log.read_text().splitlines()
    batch = json.loads(lines[1])  # one line per batch: paths, probabilities (millionths), statuses
    batch["p"][0] = "not-a-number"
    lines[1] = json.dumps(batch)
    log.write_text("\n".join(lines) + "\n")
    result = cli("score", patches, "--engine", engine, "--out", out, "--batch", "4", "--resume")
    assert_clean(result, 1, f"{log}:2")
    assert not out.exists()
