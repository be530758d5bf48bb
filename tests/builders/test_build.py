"""End-to-end builds with ONNX Runtime: FP32 / FP16 / INT8, manifests, parity gate, portable stage."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import onnx
import pytest

from hcd_edge.backends.engine_folder import open_executor
from hcd_edge.builders import BuildRequest, GateThresholds, build_engine
from hcd_edge.builders.staging import failed_report_path
from hcd_edge.errors import DataError, EngineError, EngineMismatchError, ModelError, ParityGateError
from hcd_edge.manifest import read_manifest, sha256_file, write_manifest
from hcd_edge.spec import Precision
from tests.builders.patchgen import fp32_probabilities, make_patches
from tests.tiny_models import TINY_SPEC


def _request(patches, out, precision, **kw):
    defaults = {
        "backend": "onnxruntime",
        "calib": patches.root,
        "calib_n": 32,
        "activation_form": "uint8",
    }
    defaults.update(kw)
    return BuildRequest(onnx=patches.model, precision=precision, out=out, **defaults)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.FP16])
def test_float_builds_pass_parity_and_record_manifest(patches, tmp_path, precision):
    result = build_engine(_request(patches, tmp_path / "eng", precision))
    m = read_manifest(result.engine_dir)
    assert m.precision is precision and m.backend == "onnxruntime" and m.stage == "engine"
    assert m.parity["passed"] and m.parity["labelled"] and m.parity["n"] >= 32
    assert m.parity["agreement"] >= 0.999
    assert m.calibration is None  # no calibration for float precisions
    assert m.build_options["optimized_offline"] is True
    assert (result.engine_dir / "model.onnx").is_file() and _leftovers(tmp_path) == []


def test_int8_build_records_every_manifest_field(patches, int8_engine):
    m = read_manifest(int8_engine)
    assert m.schema_version == 1 and m.hcd_edge_version and m.created.endswith("+00:00")
    assert m.source_onnx_sha256 == sha256_file(patches.model)
    assert m.engine_sha256 == sha256_file(int8_engine / m.engine_file)
    assert m.device["kind"] == "cpu" and "features" in m.device
    assert m.backend_version == __import__("onnxruntime").__version__
    assert (m.batch.min, m.batch.opt, m.batch.max) == (1, 64, 256)
    assert [(t.name, t.dtype) for t in m.inputs] == [("input", "float32")]
    assert [(t.name, t.dtype) for t in m.outputs] == [("logit", "float32")]
    assert m.preprocess == TINY_SPEC and m.threshold == pytest.approx(patches.threshold)
    assert m.quantization["activations"] == "uint8" and m.quantization["per_channel"] is True
    assert m.calibration["count"] == 32 and m.calibration["skipped"] == 0
    assert m.calibration["method"] == "minmax" and "kaggle layout" in m.calibration["source"]
    assert {"auc_loss", "agreement", "max_abs_dprob", "passed"} <= set(m.parity)
    assert m.model["architecture"] == "tiny-test-cnn"


def test_int8_engine_scores_close_to_fp32(patches, int8_engine):
    pixels, _ = make_patches(16, seed=99)
    expected = fp32_probabilities(patches.model, pixels)
    x = (
        (
            pixels.transpose(0, 3, 1, 2) / np.float32(255)
            - np.array(TINY_SPEC.mean, np.float32)[:, None, None]
        )
        / np.array(TINY_SPEC.std, np.float32)[:, None, None]
    ).astype(np.float32)
    with open_executor(int8_engine) as engine:
        probs = 1 / (1 + np.exp(-engine.infer(np.ascontiguousarray(x)).astype(np.float64)))
    assert np.abs(probs - expected).max() < 0.02


def test_calibration_and_validation_are_disjoint(int8_engine):
    m = read_manifest(int8_engine)
    total = m.calibration["count"] + m.parity["n"]
    assert total <= 160 and m.parity["n"] == 128  # 160 patches: 32 calibrate, 128 held back


def test_tampered_engine_file_is_refused_on_load(int8_copy):
    with open(int8_copy / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(EngineMismatchError, match="SHA-256"):
        open_executor(int8_copy)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("backend_version", "0.1.0", "rebuild"),
        ("features", "amx_tile", "amx_tile"),
    ],
)
def test_engine_for_other_runtime_or_cpu_is_refused(int8_copy, field, value, match, monkeypatch):
    m = read_manifest(int8_copy)
    if field == "features":
        m.device["features"] = [*m.device["features"], value]
        # The CI host may itself have the feature: describe a CPU that lacks it.
        from hcd_edge.backends import cpu_compat as loader

        real = loader.describe_cpu()
        lacking = {**real, "features": [f for f in real["features"] if f != value]}
        monkeypatch.setattr(loader, "describe_cpu", lambda: lacking)
    else:
        m.backend_version = value
    write_manifest(int8_copy, m)
    with pytest.raises(EngineMismatchError, match=match):
        open_executor(int8_copy)


def test_failed_parity_gate_leaves_no_engine_and_keeps_report(patches, tmp_path):
    strict = GateThresholds(max_auc_loss=-1.0, min_agreement=1.0, max_abs_dprob=0.0)
    out = tmp_path / "eng"
    with pytest.raises(ParityGateError, match="AUC loss") as info:
        build_engine(_request(patches, out, Precision.INT8, thresholds=strict))
    assert not out.exists() and _leftovers(tmp_path) == []
    report = json.loads(failed_report_path(out).read_text())
    assert report["parity"]["passed"] is False and str(failed_report_path(out)) in str(info.value)


def test_no_gate_keeps_an_out_of_bounds_engine(patches, tmp_path):
    strict = GateThresholds(max_auc_loss=-1.0, min_agreement=1.0, max_abs_dprob=0.0)
    result = build_engine(
        _request(patches, tmp_path / "eng", Precision.INT8, thresholds=strict, gate=False)
    )
    assert result.manifest.parity["passed"] is False and result.manifest.parity["gated"] is False
    assert any("OUT OF BOUNDS" in n for n in result.notes)


def test_broken_quantization_fails_the_default_gate(patches, tmp_path):
    # Calibrating on saturated white patches gives ranges that clip real tissue colours.
    white = tmp_path / "white"
    white.mkdir()
    import tifffile

    for i in range(40):
        tifffile.imwrite(
            white / f"w{i:03d}.tif", np.full((96, 96, 3), 255, np.uint8), photometric="rgb"
        )
    request = _request(patches, tmp_path / "eng", Precision.INT8, calib=white, val=patches.root)
    with pytest.raises(ParityGateError):
        build_engine(request)
    assert not (tmp_path / "eng").exists()


def test_unlabelled_validation_is_gated_on_agreement_and_dprob(patches, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(patches.root / "train", plain)
    result = build_engine(_request(patches, tmp_path / "eng", Precision.INT8, val=plain))
    parity = result.manifest.parity
    assert parity["labelled"] is False and "auc_loss" not in parity and parity["passed"]
    assert parity["limits"]["max_abs_dprob"] == 0.15


def test_unreadable_calibration_files_are_skipped_and_counted(patches, tmp_path):
    calib = tmp_path / "calib"
    shutil.copytree(patches.root / "train", calib)
    (calib / "broken.tif").write_bytes(b"II*\0garbage")
    (calib / "empty.tif").write_bytes(b"")
    result = build_engine(
        _request(
            patches, tmp_path / "eng", Precision.INT8, calib=calib, val=patches.root, calib_n=512
        )
    )
    cal = result.manifest.calibration
    assert cal["tried"] == 162 and cal["skipped"] == 2 and cal["count"] == 160
    assert any("broken.tif" in s for s in cal["skipped_examples"])


def test_too_few_calibration_patches_is_a_clear_error(patches, tmp_path):
    few = tmp_path / "few"
    few.mkdir()
    for path in sorted((patches.root / "train").iterdir())[:20]:
        shutil.copy(path, few)
    with pytest.raises(DataError, match="at least 32 readable"):
        build_engine(
            _request(patches, tmp_path / "eng", Precision.INT8, calib=few, val=patches.root)
        )
    assert not (tmp_path / "eng").exists() and _leftovers(tmp_path) == []


def test_int8_without_calibration_is_refused(patches, tmp_path):
    with pytest.raises(DataError, match="--calib"):
        build_engine(_request(patches, tmp_path / "eng", Precision.INT8, calib=None))


def test_stage_onnx_writes_symmetric_portable_model_for_tensorrt(patches, tmp_path):
    result = build_engine(
        _request(
            patches,
            tmp_path / "p",
            Precision.INT8,
            backend="tensorrt",
            stage="onnx",
            activation_form="auto",
        )
    )
    m = result.manifest
    assert m.stage == "onnx" and m.backend == "tensorrt" and m.parity["passed"]
    assert (
        m.quantization["activation_symmetric"] is True and m.quantization["activations"] == "int8"
    )
    assert result.next_step.startswith(f"hcd-edge build-engine {result.engine_path}")
    model = onnx.load(str(result.engine_path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["hcd_edge.build_stage"] == "precision-onnx" and "hcd_edge.preprocess" in props
    assert json.loads(props["hcd_edge.parity"])["n"] == m.parity["n"]
    zero_points = [
        onnx.numpy_helper.to_array(t)
        for t in model.graph.initializer
        if t.name.endswith("zero_point")
    ]
    assert zero_points and all(z.dtype == np.int8 and not z.any() for z in zero_points)
    with pytest.raises(EngineError, match="portable precision ONNX"):
        open_executor(result.engine_dir)  # not an engine until compiled on the device


def test_engine_from_portable_onnx_skips_calibration(patches, tmp_path):
    portable = build_engine(
        _request(
            patches,
            tmp_path / "p",
            Precision.INT8,
            backend="tensorrt",
            stage="onnx",
            activation_form="auto",
        )
    )
    request = BuildRequest(
        onnx=portable.engine_path,
        precision=Precision.INT8,
        out=tmp_path / "e",
        backend="onnxruntime",
    )  # no --calib, no --val: both come from the metadata
    result = build_engine(request)
    m = result.manifest
    assert m.calibration["reused_from"] == str(portable.engine_path.resolve())
    assert m.parity["reference"] == "the FP32 source ONNX in onnxruntime" and m.parity["passed"]
    assert m.parity["portable_parity"]["n"] == m.parity["n"]


def test_onnxruntime_form_portable_is_refused_for_tensorrt(patches, tmp_path):
    portable = build_engine(_request(patches, tmp_path / "p", Precision.INT8, stage="onnx"))
    with pytest.raises(ModelError, match="symmetric int8"):
        build_engine(
            BuildRequest(onnx=portable.engine_path, precision=Precision.INT8, backend="tensorrt")
        )


def test_tensorrt_without_tensorrt_defers_to_portable_stage(patches, tmp_path, monkeypatch):
    from hcd_edge.backends import registry

    monkeypatch.setattr(registry, "BACKENDS", tuple(
        dataclasses.replace(b, probe=lambda: "tensorrt is not installed") if b.name == "tensorrt"
        else b for b in registry.BACKENDS
    ))
    result = build_engine(_request(patches, tmp_path / "t", Precision.FP16, backend="tensorrt"))
    assert result.manifest.stage == "onnx" and result.manifest.backend == "tensorrt"
    assert any("TensorRT cannot build here" in n for n in result.notes)
    assert "--backend tensorrt --precision fp16" in result.next_step


def test_activation_form_auto_measures_both_forms(patches, tmp_path):
    result = build_engine(
        _request(patches, tmp_path / "eng", Precision.INT8, activation_form="auto")
    )
    choice = result.manifest.quantization["choice"]
    assert set(choice["measured_patches_per_s"]) == {"uint8", "int8"}
    assert choice["chosen"] == result.manifest.quantization["activations"]


def test_existing_output_is_refused_then_replaced_with_force(patches, tmp_path, int8_engine):
    out = tmp_path / "eng"
    shutil.copytree(int8_engine, out)
    with pytest.raises(EngineError, match="--force"):
        build_engine(_request(patches, out, Precision.FP32))
    assert read_manifest(out).precision is Precision.INT8  # untouched
    build_engine(_request(patches, out, Precision.FP32, force=True))
    assert read_manifest(out).precision is Precision.FP32 and _leftovers(tmp_path) == []


def test_default_output_folder_is_named_after_model_precision_backend(
    patches, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = build_engine(
        BuildRequest(onnx=patches.model, precision=Precision.FP32, backend="onnxruntime")
    )
    assert result.engine_dir.as_posix() == "engines/tiny-fp32-onnxruntime"


def test_engine_folder_holds_only_the_engine_file_and_manifest(int8_engine):
    assert sorted(p.name for p in int8_engine.iterdir()) == ["manifest.json", "model.onnx"]


def test_keep_work_keeps_the_intermediate_files_beside_the_engine(patches, tmp_path):
    result = build_engine(_request(patches, tmp_path / "eng", Precision.INT8, keep_work=True))
    kept = tmp_path / "eng.work"
    assert {"prepared.onnx", "int8.onnx"} <= {p.name for p in kept.iterdir()}
    assert sorted(p.name for p in result.engine_dir.iterdir()) == ["manifest.json", "model.onnx"]
    assert any(str(kept) in note for note in result.notes)
    assert _leftovers(tmp_path) == []  # no temporary folder left behind


def test_calibration_patches_can_be_handed_over_in_memory(patches, tmp_path):
    from hcd_edge.score.sources import open_patch_set

    given = open_patch_set(patches.root)
    handed = type(given)(refs=given.refs, labels=None, source="patches handed over by the caller")
    result = build_engine(_request(patches, tmp_path / "eng", Precision.INT8, calib=handed))
    assert result.manifest.calibration["source"] == "patches handed over by the caller"


def _symmetric_fails(monkeypatch, chosen="int8"):
    """Make the speed measurement pick `chosen` and the gate fail every symmetric build."""
    from hcd_edge.builders import build as build_module
    from hcd_edge.builders.passes import qdq_choice
    from hcd_edge.builders.passes.int8 import SYMMETRIC_INT8, UINT8_ACTIVATIONS

    def choose(*args, **kwargs):
        form = SYMMETRIC_INT8 if chosen == "int8" else UINT8_ACTIVATIONS
        return form, {"measured_patches_per_s": {"uint8": 100.0, "int8": 200.0}, "timing_batch": 8,
                      "chosen": chosen}

    real = build_module._measure_parity

    def measure(job, patches):
        report = real(job, patches)
        if job.folder.joinpath("manifest.json").exists() and "s8s8" in job.folder.joinpath(
                "manifest.json").read_text():
            report.update(passed=False, failures=["label agreement 80.00% < 99.00%"])
        return report

    monkeypatch.setattr(qdq_choice, "choose_activation_form", choose)
    monkeypatch.setattr(build_module, "_measure_parity", measure)


def test_a_symmetric_form_chosen_for_speed_that_fails_the_gate_is_rebuilt_with_uint8(patches, tmp_path,
                                                                                      monkeypatch):
    _symmetric_fails(monkeypatch)
    out = tmp_path / "eng"
    result = build_engine(_request(patches, out, Precision.INT8, activation_form="auto"))
    q = result.manifest.quantization
    assert q["label"] == "u8s8" and q["activations"] == "uint8"
    assert "failed the parity gate" in q["choice"]["rule"] and result.manifest.parity["passed"]
    assert any("chosen for speed, failed the parity gate" in n for n in result.notes)
    assert not failed_report_path(out).exists() and _leftovers(tmp_path) == []
    assert read_manifest(out).engine_sha256 == sha256_file(out / result.manifest.engine_file)


def test_an_explicitly_asked_symmetric_form_that_fails_the_gate_is_not_rebuilt(patches, tmp_path, monkeypatch):
    _symmetric_fails(monkeypatch)
    with pytest.raises(ParityGateError, match="label agreement"):
        build_engine(_request(patches, tmp_path / "eng", Precision.INT8, activation_form="int8"))
    assert not (tmp_path / "eng").exists()
