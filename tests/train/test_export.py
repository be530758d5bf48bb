"""ONNX export: names, dynamic batch, opset, hcd-edge metadata, parity with torch, clean failures."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from hcd_edge.builders import BuildRequest, build_engine
from hcd_edge.decode import decode_batch
from hcd_edge.errors import ModelError
from hcd_edge.model_info import read_model_info
from hcd_edge.score.sources import open_patch_set
from hcd_edge.spec import INPUT_NAME, OUTPUT_NAME, Precision
from hcd_edge.train import export_checkpoint
from hcd_edge.train.checkpoint import load_model_checkpoint
from hcd_edge.train.evaluate import predict_logits
from hcd_edge.train.export import PARITY_LIMIT, parity
from hcd_edge.train.models import build_model


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    return export_checkpoint(trained_run.best, tmp_path_factory.mktemp("onnx") / "model.onnx")


def test_export_parity_is_within_the_limit(exported):
    assert exported.max_abs_diff <= PARITY_LIMIT


def test_graph_has_fixed_names_dynamic_batch_and_a_recent_opset(exported):
    proto = onnx.load(str(exported.path))
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert (inp.name, out.name) == (INPUT_NAME, OUTPUT_NAME)
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, 96, 96]
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17


def test_metadata_carries_spec_threshold_metrics_and_provenance(exported, trained_run):
    info = read_model_info(exported.path)
    ckpt = load_model_checkpoint(trained_run.best)
    assert info.spec == ckpt.spec and info.threshold == ckpt.threshold
    assert info.architecture == "hcdnet" and info.metrics["auc"] == trained_run.metrics["auc"]
    assert info.provenance["split"]["seed"] == 0 and info.provenance["split"]["n_val"] == 120
    assert info.provenance["data"]["generated"]["generator"] == "hcd_edge.synthetic"
    assert info.provenance["run"] == str(trained_run.out.resolve())  # where split/ lists live


@pytest.mark.parametrize("batch", [1, 5, 64])
def test_onnx_runtime_matches_torch_on_decoded_patches(exported, trained_run, synthetic_600, batch):
    ckpt = load_model_checkpoint(trained_run.best)
    paths = open_patch_set(synthetic_600).paths[:batch]
    x = np.zeros((batch, 3, 96, 96), np.float32)
    raw = np.zeros((batch, 96, 96, 3), np.uint8)
    decode_batch(paths, x, mean=ckpt.spec.mean, std=ckpt.spec.std)
    decode_batch(paths, raw)
    session = ort.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0].ravel()
    model = build_model(ckpt.model)
    model.load_state_dict(ckpt.state_dict)
    assert np.abs(got - predict_logits(model, raw, ckpt.spec)).max() <= PARITY_LIMIT


def test_build_engine_reads_the_exported_model(exported, tmp_path, monkeypatch):
    monkeypatch.setenv("HCD_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    result = build_engine(BuildRequest(onnx=exported.path, precision=Precision.FP32,
                                       out=tmp_path / "engine", backend="onnxruntime"))
    assert result.manifest.threshold == pytest.approx(exported.info.threshold)


def test_failed_parity_leaves_no_file(trained_run, tmp_path, monkeypatch):
    monkeypatch.setattr("hcd_edge.train.export.parity", lambda *a, **k: 1.0)
    with pytest.raises(ModelError, match="parity failed"):
        export_checkpoint(trained_run.best, tmp_path / "bad.onnx")
    assert list(tmp_path.iterdir()) == []


def test_parity_notices_a_different_model(exported, trained_run):
    ckpt = load_model_checkpoint(trained_run.best)
    torch.manual_seed(123)
    other = build_model(ckpt.model).eval()
    assert parity(other, exported.path, ckpt.spec) > PARITY_LIMIT


def test_missing_or_foreign_checkpoints_and_old_opsets_are_refused(trained_run, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        export_checkpoint(tmp_path / "none.pt", tmp_path / "m.onnx")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(ModelError, match="not an hcd-edge checkpoint"):
        export_checkpoint(tmp_path / "foreign.pt", tmp_path / "m.onnx")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ModelError, match="not a readable checkpoint"):
        export_checkpoint(tmp_path / "junk.pt", tmp_path / "m.onnx")
    with pytest.raises(ModelError, match="opset 16"):
        export_checkpoint(trained_run.best, tmp_path / "m.onnx", opset=16)
