"""`hcd-edge build-engine`: help, successful builds, and every bad input -> exit 1, nothing left."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from hcd_edge.backends.tensorrt import probe as tensorrt_missing_reason
from hcd_edge.cli import main
from hcd_edge.manifest import read_manifest
from tests.builders.patchgen import write_patch_fixture
from tests.tiny_models import write_tiny_cnn


@pytest.fixture(scope="module")
def patches(tmp_path_factory):
    return write_patch_fixture(tmp_path_factory.mktemp("cli-patches"))


@pytest.fixture()
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))

    def invoke(*args):
        return CliRunner().invoke(main, ["build-engine", *map(str, args)])

    return invoke


def _nothing_left(folder):
    return not (folder / "engines").exists() or not any((folder / "engines").iterdir())


def test_help_lists_the_options():
    result = CliRunner().invoke(main, ["build-engine", "--help"])
    assert result.exit_code == 0
    for option in (
        "--precision",
        "--calib",
        "--calib-method",
        "--val",
        "--backend",
        "--batch",
        "--workspace-mb",
        "--out",
        "--no-gate",
        "--stage",
        "--mean",
        "--force",
    ):
        assert option in result.output


def test_int8_build_writes_engine_and_reports(run, patches, tmp_path):
    result = run(
        patches.model,
        "--precision",
        "int8",
        "--calib",
        patches.root,
        "--calib-n",
        32,
        "--backend",
        "onnxruntime",
        "--activation-form",
        "uint8",
    )
    assert result.exit_code == 0, result.output
    assert "wrote engine engines/tiny-int8-onnxruntime" in result.stdout
    assert "parity vs the FP32 source ONNX" in result.stderr
    assert read_manifest(tmp_path / "engines/tiny-int8-onnxruntime").calibration["count"] == 32


@pytest.mark.parametrize(
    "make_args,message",
    [
        (lambda p, t: [t / "missing.onnx"], "does not exist"),
        (lambda p, t: [_garbage(t)], "not a valid ONNX"),
        (lambda p, t: [write_tiny_cnn(t / "nospec.onnx", with_info=False)], "--mean and --std"),
        (lambda p, t: [p.model, "--precision", "int8"], "--calib"),
        (lambda p, t: [p.model, "--precision", "int8", "--calib", t / "nowhere"], "does not exist"),
        (
            lambda p, t: [p.model, "--precision", "int8", "--calib", _few(p, t)],
            "at least 32 readable",
        ),
        (lambda p, t: [p.model, "--mean", 0.5, 0.5, 0.5], "--mean and --std together"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message_and_leaves_nothing(
    run, patches, tmp_path, make_args, message
):
    result = run(*make_args(patches, tmp_path), "--backend", "onnxruntime")
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert _nothing_left(tmp_path) and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("profile", ["64:1:8", "0:0:0", "5:1:2", "abc", "1:2"])
def test_a_bad_batch_profile_is_a_usage_error_exit_2(run, patches, tmp_path, profile):
    result = run(patches.model, "--batch", profile, "--backend", "onnxruntime")
    assert result.exit_code == 2, result.output
    assert "--batch" in result.stderr and "Traceback" not in result.output
    assert _nothing_left(tmp_path)


def test_existing_output_is_refused_without_force(run, patches, tmp_path):
    args = [patches.model, "--backend", "onnxruntime", "--out", tmp_path / "eng"]
    assert run(*args).exit_code == 0
    before = (tmp_path / "eng" / "manifest.json").read_text()
    result = run(*args)
    assert result.exit_code == 1 and "--force" in result.stderr
    assert (tmp_path / "eng" / "manifest.json").read_text() == before
    assert run(*args, "--force").exit_code == 0


def test_model_without_spec_builds_with_mean_and_std(run, tmp_path):
    model = write_tiny_cnn(tmp_path / "nospec.onnx", with_info=False)
    result = run(model, "--backend", "onnxruntime", "--mean", 0.7, 0.6, 0.7, "--std", 0.2, 0.2, 0.2)
    assert result.exit_code == 0, result.output
    assert read_manifest(tmp_path / "engines/nospec-fp32-onnxruntime").preprocess.mean == (
        0.7,
        0.6,
        0.7,
    )


def test_min_agreement_replaces_only_the_agreement_limit_and_is_recorded(run, patches, tmp_path):
    args = [patches.model, "--backend", "onnxruntime", "--val", patches.root]
    assert run(*args, "--out", tmp_path / "default").exit_code == 0
    result = run(*args, "--min-agreement", 0.95, "--out", tmp_path / "lowered")
    assert result.exit_code == 0, result.output
    default = read_manifest(tmp_path / "default").parity["limits"]
    lowered = read_manifest(tmp_path / "lowered").parity["limits"]
    assert default["min_agreement"] == 0.999 and lowered["min_agreement"] == 0.95
    assert {k: v for k, v in lowered.items() if k != "min_agreement"} == {
        k: v for k, v in default.items() if k != "min_agreement"
    }


@pytest.mark.parametrize("value", ["0.3", "1.5", "most"])
def test_min_agreement_out_of_range_is_a_usage_error(run, patches, tmp_path, value):
    result = run(patches.model, "--backend", "onnxruntime", "--min-agreement", value)
    assert result.exit_code == 2 and "--min-agreement" in result.stderr
    assert _nothing_left(tmp_path)


def test_unreadable_calibration_files_are_counted_in_the_manifest(run, patches, tmp_path):
    calib = tmp_path / "calib"
    shutil.copytree(patches.root / "train", calib)
    (calib / "zz-broken.tif").write_bytes(b"II*\0xx")
    result = run(
        patches.model,
        "--precision",
        "int8",
        "--calib",
        calib,
        "--val",
        patches.root,
        "--backend",
        "onnxruntime",
        "--activation-form",
        "uint8",
        "--out",
        tmp_path / "eng",
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 unreadable calibration files" in result.stderr
    assert json.loads((tmp_path / "eng/manifest.json").read_text())["calibration"]["skipped"] == 1


@pytest.mark.skipif(
    tensorrt_missing_reason() is None, reason="TensorRT is installed here: no deferral to test"
)
def test_tensorrt_without_tensorrt_writes_portable_onnx_and_says_what_to_run(
    run, patches, tmp_path
):
    result = run(
        patches.model,
        "--precision",
        "int8",
        "--calib",
        patches.root,
        "--calib-n",
        32,
        "--backend",
        "tensorrt",
    )
    assert result.exit_code == 0, result.output
    assert "TensorRT cannot build here" in result.stderr
    command = "hcd-edge build-engine engines/tiny-int8-tensorrt-onnx/tiny-int8.onnx --backend tensorrt --precision int8"
    assert command in result.stdout
    # The portable ONNX is accepted as input; its precision is read from it (no --precision).
    again = run("engines/tiny-int8-tensorrt-onnx/tiny-int8.onnx", "--backend", "onnxruntime")
    assert again.exit_code == 0, again.output
    assert read_manifest(tmp_path / "engines/tiny-int8-onnxruntime").calibration["reused_from"]


def _garbage(folder):
    path = folder / "garbage.onnx"
    path.write_bytes(b"\x08\x07this is not protobuf" * 20)
    return path


def _few(patches, folder):
    few = folder / "few"
    few.mkdir()
    for path in sorted((patches.root / "train").iterdir())[:10]:
        shutil.copy(path, few)
    return few


def test_help_works_without_onnxruntime_or_tensorrt():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for name in ('onnxruntime', 'tensorrt', 'pycuda', 'torch', 'sklearn'):\n"
        "    sys.modules[name] = None\n"
        "from hcd_edge.cli import main\n"
        "main(['build-engine', '--help'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "--precision" in result.stdout
