"""Loading the source ONNX: validity, I/O names, preprocessing spec, precision already in the graph."""

from __future__ import annotations

import onnx
import pytest

from hcd_edge.builders.source import check_precision, declared_precision, load_source
from hcd_edge.errors import ModelError
from hcd_edge.spec import Precision
from tests.tiny_models import TINY_SPEC, tiny_cnn_proto, write_tiny_cnn


def test_missing_model_names_the_path(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_source(tmp_path / "nope.onnx")


def test_garbage_file_is_not_a_valid_onnx(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage" * 10)
    with pytest.raises(ModelError, match="not a valid ONNX"):
        load_source(bad)


def test_model_without_spec_asks_for_mean_and_std(tmp_path):
    path = write_tiny_cnn(tmp_path / "m.onnx", with_info=False)
    with pytest.raises(ModelError, match="--mean and --std"):
        load_source(path)
    source = load_source(path, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert source.info.spec.mean == (0.5, 0.5, 0.5) and source.spec_overridden


def test_mean_std_override_keeps_layout_of_existing_spec(tmp_path):
    source = load_source(
        write_tiny_cnn(tmp_path / "m.onnx"), mean=(0.1, 0.2, 0.3), std=(1.0, 1.0, 1.0)
    )
    assert source.info.spec.layout == TINY_SPEC.layout and source.info.spec.std == (1.0, 1.0, 1.0)


def test_wrong_io_names_are_refused(tmp_path):
    model = tiny_cnn_proto()
    model.graph.output[0].name = "prob"
    model.graph.node[-1].output[0] = "prob"
    onnx.save(model, str(tmp_path / "m.onnx"))
    with pytest.raises(ModelError, match="'logit'"):
        load_source(tmp_path / "m.onnx")


def test_plain_model_declares_fp32_and_accepts_any_precision(tmp_path):
    path = write_tiny_cnn(tmp_path / "m.onnx")
    assert declared_precision(path) is Precision.FP32
    for precision in Precision:
        check_precision(load_source(path), precision)
