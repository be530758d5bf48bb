"""`hcd-edge inspect`: readable table, raw JSON, damaged files flagged, missing folders exit 1."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from hcd_edge.builders import BuildRequest, build_engine
from hcd_edge.cli import main
from hcd_edge.spec import Precision
from tests.tiny_models import write_tiny_cnn


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inspect")
    model = write_tiny_cnn(folder / "tiny.onnx")
    return build_engine(
        BuildRequest(
            onnx=model, precision=Precision.FP32, out=folder / "eng", backend="onnxruntime"
        )
    ).engine_dir


def _inspect(*args):
    return CliRunner().invoke(main, ["inspect", *map(str, args)], terminal_width=200)


def test_help():
    result = CliRunner().invoke(main, ["inspect", "--help"])
    assert result.exit_code == 0 and "--json" in result.output


def test_short_view_names_what_matters_in_few_lines(engine):
    result = CliRunner().invoke(main, ["inspect", str(engine)])  # 80 columns
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) <= 16 and max(len(line.rstrip()) for line in lines) <= 80
    for field in ("name", "backend", "precision", "device", "parity", "threshold", "files"):
        assert any(line.startswith(field) for line in lines), field
    assert "model.onnx matches its SHA-256" in result.output
    assert "source_onnx_sha256" not in result.output and "--full" in result.output


def test_full_table_shows_the_manifest_and_the_file_check(engine):
    result = _inspect(engine, "--full")
    assert result.exit_code == 0, result.output
    for text in (
        "onnxruntime",
        "fp32",
        "source_onnx_sha256",
        "preprocess",
        "parity",
        "model.onnx matches its SHA-256",
    ):
        assert text in result.output


def test_json_is_the_raw_manifest(engine):
    result = _inspect(engine / "model.onnx", "--json")  # a file inside the folder works too
    data = json.loads(result.output)
    assert data["backend"] == "onnxruntime" and data["schema_version"] == 1


def test_changed_engine_file_is_flagged(engine, tmp_path):
    copy = shutil.copytree(engine, tmp_path / "eng")
    (copy / "model.onnx").write_bytes(b"changed")
    result = _inspect(copy)
    assert result.exit_code == 1 and "PROBLEM" in result.output and "SHA-256" in result.output


def test_missing_engine_exits_1_and_lists_the_engines_there(engine, tmp_path):
    result = _inspect(tmp_path / "nothing")
    assert result.exit_code == 1 and "no such engine folder" in result.stderr
    typo = _inspect(engine.parent / (engine.name + "x"))
    assert "no such engine folder" in typo.stderr and str(engine) in typo.stderr
    plain = _inspect(tmp_path)
    assert plain.exit_code == 1 and "manifest.json is missing" in plain.stderr


def test_an_onnx_model_shows_its_metadata(tmp_path):
    import onnx

    from hcd_edge.model_info import ModelInfo, read_props, write_props

    model = write_tiny_cnn(tmp_path / "m.onnx", threshold=0.25)
    proto = onnx.load(str(model))
    info = ModelInfo.from_props(read_props(model))
    props = ModelInfo(spec=info.spec, threshold=0.25, architecture="hcdnet",
                      metrics={"auc": 0.91234, "n": 1000, "reliability": [[0.6000000000000001, 0.5]]},
                      provenance={"split": {"kind": "stratified", "seed": 3}, "run": "/runs/r1",
                                  "data": {"source": "kaggle layout /data"}}).to_props()
    write_props(proto, props)
    onnx.save(proto, str(model))
    short = _inspect(model)
    assert short.exit_code == 0, short.output
    for text in ("hcdnet", "fp32", "opset", "0.25", "validation AUC 0.9123 on 1,000 patches",
                 "seed 3", "/runs/r1", "kaggle layout /data"):
        assert text in short.output, text
    full = _inspect(model, "--full")
    assert "0.6000000000000001" not in full.output and "[0.6, 0.5]" in full.output
    raw = json.loads(_inspect(model, "--json").output)
    assert raw["hcd_edge.threshold"] == 0.25 and raw["hcd_edge.provenance"]["run"] == "/runs/r1"
