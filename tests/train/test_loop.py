"""The training loop: tiny runs learn, centre beats outer ring, resume equals no interruption,
early stopping, ResNet50's two stages, balance options, output folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hcd_edge.errors import DataError
from hcd_edge.synthetic import PatchKind, generate_patches
from hcd_edge.train import Arch, ModelConfig, Schedule, train
from hcd_edge.train.checkpoint import load_checkpoint_doc, load_model_checkpoint
from hcd_edge.train.evaluate import predict_logits
from hcd_edge.train.loop import _set_trainable, stage_plans
from hcd_edge.train.metrics import roc_auc
from hcd_edge.train.models import build_model
from hcd_edge.train.progress import SilentProgress
from hcd_edge.train.split import Balance
from tests.train.conftest import tiny_config


def test_tiny_run_learns_the_generated_task(trained_run):
    assert trained_run.metrics["auc"] >= 0.95
    assert trained_run.metrics["auc_tta"] >= 0.95
    assert trained_run.metrics["n"] == 120 and trained_run.metrics["parameters"] > 0


def test_trained_model_ranks_centre_tumour_above_outer_ring_tumour(trained_run):
    fresh = generate_patches(400, seed=99)  # patches the run never saw
    keep = np.isin(fresh.kinds, [PatchKind.CENTRE, PatchKind.RING_ONLY])
    ckpt = load_model_checkpoint(trained_run.best)
    model = build_model(ckpt.model)
    model.load_state_dict(ckpt.state_dict)
    logits = predict_logits(model, fresh.pixels[keep], ckpt.spec)
    centre = (fresh.kinds[keep] == PatchKind.CENTRE).astype(int)
    assert centre.sum() > 50 and (1 - centre).sum() > 30
    assert roc_auc(centre, logits) >= 0.9


def test_run_folder_holds_checkpoints_metrics_and_plots(trained_run):
    out = trained_run.out
    assert (out / "best.pt").is_file() and (out / "last.pt").is_file()
    doc = json.loads((out / "metrics.json").read_text())
    assert len(doc["history"]) == doc["final"]["epochs_run"] == len(trained_run.history)
    assert doc["final"]["threshold"] == load_model_checkpoint(out / "best.pt").threshold
    lines = (out / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("epoch,stage,lr,train_loss") and len(lines) == len(doc["history"]) + 1
    for name in ("curves", "roc", "confusion", "samples"):
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_best_checkpoint_is_the_best_epoch(trained_run):
    aucs = [r.val_auc for r in trained_run.history]
    assert trained_run.metrics["best_epoch"] == int(np.argmax(aucs)) + 1


class _StopBefore(SilentProgress):
    """Interrupts a run as epoch `epoch` starts, like Ctrl-C would."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("schedule, ema", [(Schedule.ONECYCLE, 0.0), (Schedule.PLATEAU, 0.0),
                                           (Schedule.ONECYCLE, 0.9)])
def test_resume_gives_the_same_result_as_an_uninterrupted_run(synthetic_96, tmp_path, schedule, ema):
    settings = {"epochs": 3, "schedule": schedule, "ema": ema, "batch_size": 16}  # 4 steps an epoch
    whole = train(tiny_config(synthetic_96, tmp_path / "whole", **settings))
    config = tiny_config(synthetic_96, tmp_path / "split", **settings)
    with pytest.raises(KeyboardInterrupt):
        train(config, _StopBefore(3))
    saved = load_checkpoint_doc(tmp_path / "split" / "last.pt")["resume"]
    assert len(saved["state"]["history"]) == 2
    if schedule is Schedule.ONECYCLE:
        assert saved["scheduler"]["total_steps"] == 12  # a real one-cycle schedule, not a constant
    resumed = train(config, resume=True)
    a, b = load_checkpoint_doc(whole.best), load_checkpoint_doc(resumed.best)
    assert a["epoch"] == b["epoch"]
    for key, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][key]), key
    timing = ("seconds", "cpu_seconds")
    strip = [{k: v for k, v in r.__dict__.items() if k not in timing} for r in whole.history]
    assert strip == [{k: v for k, v in r.__dict__.items() if k not in timing} for r in resumed.history]


def test_resume_may_shorten_a_one_cycle_run_which_then_anneals_on_time(synthetic_96, tmp_path):
    settings = {"epochs": 5, "batch_size": 16}  # 4 steps an epoch
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(synthetic_96, tmp_path / "run", **settings), _StopBefore(3))
    with pytest.raises(DataError, match="2 epochs have already run"):
        train(tiny_config(synthetic_96, tmp_path / "run", epochs=2, batch_size=16), resume=True)
    shorter = train(tiny_config(synthetic_96, tmp_path / "run", epochs=3, batch_size=16), resume=True)
    whole = train(tiny_config(synthetic_96, tmp_path / "whole", **settings))
    assert len(shorter.history) == 3
    assert [r.val_auc for r in shorter.history[:2]] == [r.val_auc for r in whole.history[:2]]
    spare = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=3e-3)
    three = torch.optim.lr_scheduler.OneCycleLR(spare, max_lr=3e-3, total_steps=12, pct_start=0.25)
    for _ in range(12):
        spare.step()
        three.step()
    # from epoch 3 on it follows a 3-epoch schedule: it ends where that one ends, far below the 5-epoch one
    assert shorter.history[-1].lr == pytest.approx(spare.param_groups[0]["lr"])
    assert shorter.history[-1].lr < whole.history[2].lr / 10
    changed = load_model_checkpoint(shorter.best).provenance["epochs_changed"]
    assert changed == [{"from": 5, "to": 3, "after_epoch": 2}]


def test_a_run_saved_before_the_holdout_and_hed_settings_existed_resumes(synthetic_96, tmp_path):
    config = tiny_config(synthetic_96, tmp_path / "run", epochs=2, batch_size=32)
    with pytest.raises(KeyboardInterrupt):
        train(config, _StopBefore(2))
    doc = load_checkpoint_doc(tmp_path / "run" / "last.pt")
    for name in ("holdout", "label_smoothing", "distill"):
        del doc["resume"]["config"][name]
    del doc["resume"]["config"]["augment"]["hed"]
    torch.save(doc, tmp_path / "run" / "last.pt")
    assert len(train(config, resume=True).history) == 2
    with pytest.raises(DataError, match="label_smoothing"):
        train(tiny_config(synthetic_96, tmp_path / "run", epochs=2, batch_size=32, label_smoothing=0.1), resume=True)


def test_ema_run_saves_the_averaged_weights_as_best(synthetic_96, tmp_path):
    result = train(tiny_config(synthetic_96, tmp_path / "run", epochs=2, ema=0.9, patience=0))
    best = load_checkpoint_doc(result.best)["state_dict"]
    last = load_checkpoint_doc(tmp_path / "run" / "last.pt")
    averaged = {k.removeprefix("module."): v for k, v in last["resume"]["ema"].items()}
    if result.metrics["best_epoch"] == 2:
        assert all(torch.equal(best[k], averaged[k]) for k in best)
    raw = last["state_dict"]
    assert not all(torch.equal(best[k], raw[k]) for k in best if k.endswith("weight"))


def test_resume_refuses_other_settings_and_a_missing_run(synthetic_96, tmp_path):
    train(tiny_config(synthetic_96, tmp_path / "run", epochs=1))
    with pytest.raises(DataError, match="lr"):
        train(tiny_config(synthetic_96, tmp_path / "run", epochs=1, lr=1e-2), resume=True)
    with pytest.raises(DataError, match="last.pt does not exist"):
        train(tiny_config(synthetic_96, tmp_path / "none", epochs=1), resume=True)


def test_non_empty_out_is_refused_unless_overwrite(synthetic_96, tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("keep")
    with pytest.raises(DataError, match="not empty"):
        train(tiny_config(synthetic_96, tmp_path / "run", epochs=1))
    train(tiny_config(synthetic_96, tmp_path / "run", epochs=1), overwrite=True)
    assert (tmp_path / "run" / "best.pt").is_file()


def test_patience_defaults_to_never_for_one_cycle_and_5_for_plateau():
    assert tiny_config("d", "o").stop_after == 0
    assert tiny_config("d", "o", schedule=Schedule.PLATEAU).stop_after == 5
    assert tiny_config("d", "o", patience=3).stop_after == 3


def test_early_stopping_ends_the_run_after_patience_epochs(synthetic_96, tmp_path, monkeypatch):
    falling = iter([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    monkeypatch.setattr("hcd_edge.train.loop.roc_auc", lambda y, p: next(falling))
    result = train(tiny_config(synthetic_96, tmp_path / "run", epochs=6, patience=2))
    assert len(result.history) == 3
    assert result.metrics["best_epoch"] == 1


@pytest.mark.parametrize("balance", [Balance.CLASS_WEIGHTS, Balance.UNDERSAMPLE])
def test_balance_options_train(synthetic_96, tmp_path, balance):
    result = train(tiny_config(synthetic_96, tmp_path / "run", epochs=1, balance=balance))
    assert result.history[0].train_loss > 0
    assert load_model_checkpoint(result.best).provenance["balance"] == balance.value


@pytest.fixture()
def resnet_weights(tmp_path):
    """A randomly initialized torchvision ResNet50 state_dict saved locally (no download)."""
    from torchvision.models import resnet50

    torch.manual_seed(0)
    path = tmp_path / "resnet50-random.pth"
    torch.save(resnet50(weights=None).state_dict(), path)
    return path


def test_resnet50_stage_one_trains_only_the_head():
    config = tiny_config("unused", "unused", model=ModelConfig(arch=Arch.RESNET50), epochs=3)
    head, top = stage_plans(config)
    assert (head.epochs, top.epochs) == (1, 2) and top.lr == pytest.approx(config.lr / 10)
    model = build_model(config.model, pretrained=False)
    _set_trainable(model, head)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == {"fc.weight", "fc.bias"}
    _set_trainable(model, top)
    learning = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert learning == {"layer3", "layer4", "fc"}


def test_resnet50_two_stage_fine_tune_keeps_lower_layers(synthetic_96, tmp_path, resnet_weights):
    config = tiny_config(synthetic_96, tmp_path / "run", model=ModelConfig(arch=Arch.RESNET50),
                         epochs=2, batch_size=16, limit=32, weights=resnet_weights, augment=_no_aug())
    result = train(config)
    assert [r.stage for r in result.history] == [0, 1]
    assert result.history[1].lr < result.history[0].lr
    start = torch.load(resnet_weights, weights_only=True)
    final = load_checkpoint_doc(tmp_path / "run" / "last.pt")["state_dict"]
    for frozen in ("conv1.weight", "layer1.0.conv1.weight", "layer1.0.bn1.running_mean", "layer2.0.bn1.weight"):
        assert torch.equal(start[frozen], final[frozen]), frozen
    assert not torch.equal(start["layer4.2.conv3.weight"], final["layer4.2.conv3.weight"])
    assert load_model_checkpoint(result.best).spec.mean == (0.485, 0.456, 0.406)


def _no_aug():
    from hcd_edge.train.augment import Augment

    return Augment.off()
