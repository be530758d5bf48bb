"""Distillation: the teacher's 8-view TTA targets, the blended training target, provenance, resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hcd_edge.cli import main
from hcd_edge.errors import DataError
from hcd_edge.train import export_checkpoint, train
from hcd_edge.train import loop as loop_module
from hcd_edge.train.checkpoint import load_model_checkpoint
from hcd_edge.train.distill import load_teacher, same_split
from hcd_edge.train.evaluate import predict_tta
from hcd_edge.train.models import build_model
from hcd_edge.train.prepare import prepare_data
from hcd_edge.train.progress import SilentProgress
from tests.train.conftest import tiny_config


@pytest.fixture(scope="module")
def teacher_onnx(trained_run, tmp_path_factory):
    """The tiny trained run (600 generated patches, seed 0 split) exported to ONNX."""
    return export_checkpoint(trained_run.best, tmp_path_factory.mktemp("teacher") / "teacher.onnx").path


@pytest.fixture(scope="module")
def second_teacher(synthetic_600, tmp_path_factory):
    """Another teacher on the same split: one epoch of the tiny model, exported."""
    folder = tmp_path_factory.mktemp("second")
    run = train(tiny_config(synthetic_600, folder / "run", epochs=1))
    return export_checkpoint(run.best, folder / "second.onnx").path


def test_several_teachers_give_the_mean_of_their_targets(teacher_onnx, second_teacher, synthetic_600, tmp_path):
    data = prepare_data(tiny_config(synthetic_600, tmp_path))
    split = data.provenance["split"]
    one, two = (load_teacher([t], data.train, split, threads=2) for t in (teacher_onnx, second_teacher))
    both = load_teacher([teacher_onnx, second_teacher], data.train, split, threads=2)
    np.testing.assert_allclose(both.probs, (one.probs + two.probs) / 2, atol=1e-6)
    assert np.abs(one.probs - two.probs).max() > 0.05  # two different teachers
    assert [p.name for p in both.paths] == ["teacher.onnx", "second.onnx"] and both.same_split
    assert both.provenance(0.5)["teachers"] == ["teacher.onnx", "second.onnx"]


class _Notes(SilentProgress):
    def __init__(self):
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)


def test_teacher_targets_are_its_tta_probabilities_as_torch_computes_them(trained_run, teacher_onnx,
                                                                          synthetic_600, tmp_path):
    data = prepare_data(tiny_config(synthetic_600, tmp_path))
    teacher = load_teacher([teacher_onnx], data.train, data.provenance["split"], threads=2)
    ckpt = load_model_checkpoint(trained_run.best)
    model = build_model(ckpt.model)
    model.load_state_dict(ckpt.state_dict)
    expected = predict_tta(model, data.train.pixels, ckpt.spec)
    assert teacher.probs.shape == (len(data.train),) and teacher.probs.dtype == np.float32
    np.testing.assert_allclose(teacher.probs, expected, atol=1e-5)
    assert teacher.same_split  # same data, seed and fractions as the teacher's own run
    assert 0.05 < teacher.probs.mean() < 0.95 and len(np.unique(teacher.probs)) > len(teacher.probs) // 2


@pytest.mark.parametrize("weight", [1.0, 0.25])
def test_each_step_trains_against_the_blend_of_label_and_teacher(teacher_onnx, synthetic_600, tmp_path,
                                                                monkeypatch, weight):
    seen: list[torch.Tensor] = []
    real_step = loop_module._step

    def spy(run, x, target, optimizer, scaler):
        seen.append(target.clone())
        return real_step(run, x, target, optimizer, scaler)

    monkeypatch.setattr(loop_module, "_step", spy)
    config = tiny_config(synthetic_600, tmp_path / "run", epochs=1, teachers=(teacher_onnx,), distill=weight)
    data = prepare_data(config)
    probs = load_teacher([teacher_onnx], data.train, data.provenance["split"], threads=2).probs
    train(config)
    allowed = (1 - weight) * data.train.labels + weight * probs.astype(np.float64)
    got = torch.cat(seen).numpy()
    assert len(got) >= len(data.train) - config.batch_size
    assert np.abs(got[:, None] - allowed[None, :]).min(axis=1).max() < 1e-6  # each one some patch's blend
    assert not np.isin(got, [0.0, 1.0]).all()  # soft, not the bare labels


def test_provenance_records_the_teacher_and_warns_when_its_split_differs(teacher_onnx, synthetic_600,
                                                                        synthetic_96, tmp_path):
    same = train(tiny_config(synthetic_600, tmp_path / "same", epochs=1, teachers=(teacher_onnx,),
                             distill=0.5))
    record = load_model_checkpoint(same.best).provenance["distillation"]
    assert record["teachers"] == ["teacher.onnx"] and record["weight"] == 0.5 and record["same_split"] is True
    assert len(record["teacher_sha256"][0]) == 64
    notes = _Notes()
    other = train(tiny_config(synthetic_96, tmp_path / "other", epochs=1, teachers=(teacher_onnx,), distill=0.5),
                  notes)
    assert load_model_checkpoint(other.best).provenance["distillation"]["same_split"] is False
    assert any("teacher's recorded split differs" in n for n in notes.notes)


def test_resume_refuses_a_different_teacher(teacher_onnx, synthetic_96, tmp_path):
    class StopBefore2(SilentProgress):
        def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
            if epoch == 2:
                raise KeyboardInterrupt

    config = tiny_config(synthetic_96, tmp_path / "run", epochs=2, teachers=(teacher_onnx,), distill=0.5)
    with pytest.raises(KeyboardInterrupt):
        train(config, StopBefore2())
    other = train(tiny_config(synthetic_96, tmp_path / "t2", epochs=1))
    other_onnx = export_checkpoint(other.best, tmp_path / "other.onnx").path
    with pytest.raises(DataError, match="teacher's targets differ"):
        train(tiny_config(synthetic_96, tmp_path / "run", epochs=2, teachers=(other_onnx,), distill=0.5), resume=True)
    with pytest.raises(DataError, match=r"settings differ from the saved run \(distill\)"):
        train(tiny_config(synthetic_96, tmp_path / "run", epochs=2), resume=True)
    assert len(train(config, resume=True).history) == 2


@pytest.mark.parametrize("changes, message", [
    ({"teachers": ("t.onnx",)}, "needs a distillation weight > 0"),
    ({"distill": 0.5}, "needs a distillation weight > 0, and a weight needs a --teacher"),
    ({"teachers": ("t.onnx",), "distill": 1.5}, "must be in \\[0, 1\\]"),
])
def test_inconsistent_distillation_settings_are_refused(tmp_path, changes, message):
    with pytest.raises(DataError, match=message):
        tiny_config(tmp_path, tmp_path / "run", **changes)


def test_command_line_distils_and_names_a_missing_teacher(teacher_onnx, synthetic_600, tmp_path):
    def run(*extra):
        return CliRunner().invoke(main, ["train", "--data", str(synthetic_600), "--epochs", "1",
                                         "--widths", "8,16,32,64", "--threads", "2", *map(str, extra)])

    ok = run("--out", tmp_path / "ok", "--teacher", teacher_onnx, "--teacher", teacher_onnx, "--distill-weight", 0.3)
    assert ok.exit_code == 0, ok.output
    assert "teacher: scoring" in ok.output
    record = load_model_checkpoint(tmp_path / "ok" / "best.pt").provenance["distillation"]
    assert record["weight"] == 0.3 and record["teachers"] == ["teacher.onnx", "teacher.onnx"]
    missing = run("--out", tmp_path / "missing", "--teacher", tmp_path / "nope.onnx")
    assert missing.exit_code == 1 and "nope.onnx: no such file" in missing.output



def test_a_split_recorded_with_an_absolute_holdout_folder_is_the_same_as_a_relative_one():
    recorded = {"kind": "stratified", "seed": 0, "val_fraction": 0.1, "n_train": 7748, "n_val": 861,
                "n_holdout": 1600, "holdout_from": "/root/.cache/hcd-edge-data/pcam-real-extra"}
    assert same_split(recorded, {**recorded, "holdout_from": "pcam-real-extra"})
    assert not same_split(recorded, {**recorded, "holdout_from": "pcam-real-5k"})
    assert not same_split(recorded, {**recorded, "seed": 1})
    assert not same_split(recorded, {k: v for k, v in recorded.items() if k != "holdout_from"})
