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


def test_table_shows_the_manifest_and_the_file_check(engine):
    result = _inspect(engine)
    assert result.exit_code == 0, result.output
    for text in (
        "onnxruntime",
        "fp32",
        "source_onnx_sha256",
        "preprocess",
        "parity",
        "engine file matches",
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


def test_missing_engine_exits_1_naming_it(tmp_path):
    result = _inspect(tmp_path / "nothing")
    assert result.exit_code == 1 and f"{tmp_path / 'nothing'} does not exist" in result.stderr
    (tmp_path / "empty").mkdir()
    result = _inspect(tmp_path / "empty")
    assert result.exit_code == 1 and "manifest.json is missing" in result.stderr
