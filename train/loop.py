"""The training loop: stages, epochs, early stopping on validation AUC, best and last checkpoints.

Every epoch reseeds its own generators from (seed, epoch), so what epoch e computes depends only
on the seed and the state saved after epoch e-1: a resumed run repeats an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from hcd_edge.errors import DataError
from hcd_edge.train.augment import normalize, to_unit, training_batch
from hcd_edge.train.checkpoint import (
    BEST,
    LAST,
    ModelCheckpoint,
    load_checkpoint_doc,
    save_model_checkpoint,
)
from hcd_edge.train.config import Schedule, TrainConfig
from hcd_edge.train.distill import Teacher, load_teacher, soft_targets
from hcd_edge.train.evaluate import bce_loss, predict_logits, sigmoid
from hcd_edge.train.finish import TrainResult, finish_run
from hcd_edge.train.metrics import EpochRecord, roc_auc, summary, youden_threshold
from hcd_edge.train.models import Arch, build_model, top_layer_prefixes
from hcd_edge.train.prepare import Prepared, prepare_data, write_split_lists
from hcd_edge.train.progress import SilentProgress, TrainProgress
from hcd_edge.train.split import Balance, undersample


@dataclass(frozen=True)
class StagePlan:
    """One fine-tuning stage: how long, how fast, which parameters learn."""

    epochs: int
    lr: float
    trainable: tuple[str, ...] | None  # parameter-name prefixes; None = every parameter


@dataclass
class RunState:
    """Where a run stands; saved in last.pt after every epoch."""

    stage: int = 0
    epoch_in_stage: int = 0
    history: list[EpochRecord] = field(default_factory=list)
    best_auc: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0


@dataclass
class _Run:
    """What the epochs of a run share."""

    config: TrainConfig
    data: Prepared
    model: nn.Module
    device: torch.device
    state: RunState
    progress: TrainProgress
    resume: dict | None  # last.pt's resume section when continuing a run
    ema: AveragedModel | None = None  # moving average of the weights, when config.ema > 0
    teacher: Teacher | None = None  # distillation targets, when config.teachers are set

    @property
    def eval_model(self) -> nn.Module:
        """The weights validated and saved as best: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model


def stage_plans(config: TrainConfig) -> list[StagePlan]:
    """One stage; for ResNet50 a frozen-backbone stage, then the top layers at lr / 10."""
    if config.model.arch is not Arch.RESNET50:
        return [StagePlan(config.epochs, config.lr, None)]
    head = min(config.head_epochs, config.epochs)
    plans = [StagePlan(head, config.lr, ("fc.",)),
             StagePlan(config.epochs - head, config.lr / 10, top_layer_prefixes(Arch.RESNET50))]
    return [p for p in plans if p.epochs > 0]


def train(config: TrainConfig, progress: TrainProgress | None = None, *, resume: bool = False,
          overwrite: bool = False) -> TrainResult:
    """Train config.model on config.data into config.out (best.pt, last.pt, metrics, plots)."""
    progress = progress or SilentProgress()
    _check_out(Path(config.out), resume, overwrite)
    with torch_settings(config.threads):
        data = prepare_data(config)
        write_split_lists(config.out, data)
        held = f", {len(data.holdout)} held out" if data.holdout is not None else ""
        progress.note(f"data: {len(data.train)} training and {len(data.val)} validation patches{held} "
                      f"from {data.provenance['data']['source']}")
        teacher = _teacher(config, data, progress)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        torch.manual_seed(config.seed)  # initial weights
        model = build_model(config.model, config.weights).to(device)
        run = _Run(config, data, model, device, RunState(), progress, None, _make_ema(model, config.ema), teacher)
        if resume:
            _restore(run)
        for index, plan in enumerate(stage_plans(config)):
            if index >= run.state.stage:
                _run_stage(run, index, plan)
        return finish_run(run.config, run.data, run.model, run.device, run.state.history, progress)


def _teacher(config: TrainConfig, data: Prepared, progress: TrainProgress) -> Teacher | None:
    """The teachers' targets for the training patches (recorded in provenance), or None."""
    if not config.teachers:
        return None
    names = ", ".join(str(t) for t in config.teachers)
    progress.note(f"teacher: scoring {len(data.train)} training patches with {names} (8 views each)")
    teacher = load_teacher(config.teachers, data.train, data.provenance["split"], threads=config.threads)
    if not teacher.same_split:
        progress.note("warning: a teacher's recorded split differs from this run's; if it trained on "
                      "this run's validation or holdout patches, their figures will be optimistic")
    data.provenance["distillation"] = teacher.provenance(config.distill)
    return teacher


def _make_ema(model: nn.Module, decay: float) -> AveragedModel | None:
    if decay <= 0:
        return None
    # Only parameters are averaged: averaged batch-norm statistics do not match averaged weights
    # (on the real patches that dropped validation AUC from 0.91 to 0.64), so _refresh_bn
    # re-estimates them for the averaged weights before each validation.
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


BN_REFRESH_PATCHES = 1024  # training patches (every k-th, no augmentation) for EMA batch-norm stats


@torch.no_grad()
def _refresh_bn(model: nn.Module, data: Prepared, device: torch.device) -> None:
    """Recompute the batch-norm running statistics of `model` on training patches."""
    from torch.optim.swa_utils import update_bn

    pixels = data.train.pixels
    rows = np.arange(0, len(pixels), max(len(pixels) // BN_REFRESH_PATCHES, 1))
    batches = (normalize(to_unit(torch.from_numpy(pixels[rows[i:i + 256]])), data.spec).to(device)
               for i in range(0, len(rows), 256))
    update_bn(batches, model)


@contextlib.contextmanager
def torch_settings(threads: int | None) -> Iterator[None]:
    """Thread count and deterministic algorithms for the run; restored afterwards.

    warn_only: some CUDA kernels (e.g. adaptive pooling backward) have no deterministic form,
    so on a GPU a resumed run matches an uninterrupted one only approximately; on the CPU
    every kernel used here is deterministic and resume reproduces the run exactly.
    """
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads or os.cpu_count() or 1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def _check_out(out: Path, resume: bool, overwrite: bool) -> None:
    if resume:
        if not (out / LAST).is_file():
            raise DataError(f"cannot resume: {out / LAST} does not exist (train without --resume first)")
        return
    if out.exists() and not out.is_dir():
        raise DataError(f"{out} exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(f"{out} is not empty; choose a new --out, pass --resume to continue "
                        "the run there, or --force to overwrite it")
    out.mkdir(parents=True, exist_ok=True)


# Settings added after runs were saved, at the values those runs trained with: such runs resume.
ADDED_SETTINGS = {"holdout": 0, "label_smoothing": 0.0, "distill": 0.0}
ADDED_AUGMENT = {"hed": 0.0}


def _restore(run: _Run) -> None:
    doc = load_checkpoint_doc(run.config.out / LAST)
    saved = doc.get("resume") or {}
    key, saved_key = run.config.resume_key(), {**ADDED_SETTINGS, **(saved.get("config") or {})}
    saved_key["augment"] = {**ADDED_AUGMENT, **saved_key.get("augment", {})}
    done = len(saved.get("state", {}).get("history", []))
    old_epochs = saved_key.get("epochs", key["epochs"])
    if old_epochs != key["epochs"]:
        _check_new_length(run.config, done, old_epochs)
        saved_key["epochs"] = key["epochs"]
    if saved_key != key:
        diff = sorted(k for k, v in key.items() if saved_key.get(k) != v)
        raise DataError(f"cannot resume {run.config.out}: settings differ from the saved run ({', '.join(diff)}); "
                        "give the same options, or train into a new --out")
    if old_epochs != key["epochs"]:
        earlier = doc.get("provenance", {}).get("epochs_changed", [])
        earlier = [earlier] if isinstance(earlier, dict) else list(earlier)
        run.data.provenance["epochs_changed"] = [*earlier, {"from": old_epochs, "to": key["epochs"],
                                                             "after_epoch": done}]
        run.progress.note(f"schedule changed from {old_epochs} to {key['epochs']} epochs after epoch {done}")
    if saved.get("fingerprint") != run.data.fingerprint:
        raise DataError(f"cannot resume {run.config.out}: the training data or its split changed")
    if saved.get("teacher") != (run.teacher.fingerprint if run.teacher else None):
        raise DataError(f"cannot resume {run.config.out}: the teacher's targets differ from the saved run's")
    run.model.load_state_dict(doc["state_dict"])
    if run.ema is not None:
        run.ema.load_state_dict(saved["ema"])
    s = saved["state"]
    run.state = RunState(stage=s["stage"], epoch_in_stage=s["epoch_in_stage"],
                         history=[EpochRecord(**r) for r in s["history"]], best_auc=s["best_auc"],
                         best_epoch=s["best_epoch"], bad_epochs=s["bad_epochs"])
    run.resume = saved
    run.progress.note(f"resuming {run.config.out} after epoch {len(run.state.history)}")


def _check_new_length(config: TrainConfig, done: int, old_epochs: int) -> None:
    """A resumed single-stage run may change its length (to end sooner on a busy machine), not past what ran."""
    if config.model.arch is Arch.RESNET50:
        raise DataError(f"cannot resume with --epochs {config.epochs} (was {old_epochs}): a ResNet50 run's "
                        "stages are fixed; give the same --epochs")
    if config.epochs <= done:
        raise DataError(f"cannot resume with --epochs {config.epochs}: {done} epochs have already run")


def _fit_schedule(scheduler, plan: StagePlan, steps: int) -> None:
    """A restored one-cycle schedule stretched or shrunk to plan.epochs, keeping the step it reached."""
    total = plan.epochs * steps
    if not isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR) or scheduler.total_steps == total:
        return
    spare = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=plan.lr)  # leaves the real lr alone
    fresh = torch.optim.lr_scheduler.OneCycleLR(spare, max_lr=plan.lr, total_steps=total, pct_start=0.25)
    scheduler.total_steps = fresh.total_steps
    scheduler._schedule_phases = fresh._schedule_phases


def _run_stage(run: _Run, index: int, plan: StagePlan) -> None:
    _set_trainable(run.model, plan)
    params = [p for p in run.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=plan.lr, weight_decay=run.config.weight_decay)
    steps = _steps_per_epoch(run)
    scheduler = _scheduler(run.config.schedule, optimizer, plan, steps)
    scaler = torch.amp.GradScaler("cuda", enabled=run.device.type == "cuda")  # torch >= 2.3
    if run.resume is not None and run.state.epoch_in_stage > 0:
        optimizer.load_state_dict(run.resume["optimizer"])
        scheduler.load_state_dict(run.resume["scheduler"])
        _fit_schedule(scheduler, plan, steps)
        scaler.load_state_dict(run.resume["scaler"])
    if plan.trainable is not None:
        run.progress.note(f"stage {index + 1}: training {', '.join(plan.trainable)} at lr {plan.lr:g}")
    while run.state.epoch_in_stage < plan.epochs:
        probs = _epoch(run, plan, optimizer, scheduler, scaler)
        done = _after_epoch(run, probs) or run.state.epoch_in_stage + 1 >= plan.epochs
        run.state.epoch_in_stage += 1
        if done:
            run.state.stage, run.state.epoch_in_stage, run.state.bad_epochs = index + 1, 0, 0
        _save_last(run, optimizer, scheduler, scaler)
        if done:
            break


def _set_trainable(model: nn.Module, plan: StagePlan) -> None:
    for name, p in model.named_parameters():
        p.requires_grad_(plan.trainable is None or name.startswith(plan.trainable))


def _train_mode(model: nn.Module) -> None:
    """Training mode, except batch norms whose parameters are frozen keep their statistics."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters()):
            m.eval()


def _steps_per_epoch(run: _Run) -> int:
    n = len(run.data.train)
    if run.config.balance is Balance.UNDERSAMPLE:
        n = 2 * int(min(run.data.train.labels.sum(), n - run.data.train.labels.sum()))
    return max(n // run.config.batch_size, 1)


def _scheduler(kind: Schedule, optimizer: torch.optim.Optimizer, plan: StagePlan, steps: int):
    total = plan.epochs * steps
    if kind is Schedule.ONECYCLE and total < 8:  # too few steps to warm up and anneal: keep lr
        return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if kind is Schedule.ONECYCLE:
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=plan.lr, total_steps=total,
                                                   pct_start=0.25)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=1 / 3, patience=1)


def _epoch_order(run: _Run, gen: torch.Generator, epoch: int) -> torch.Tensor:
    """Training row order for the epoch (undersampled afresh each epoch when asked)."""
    labels = run.data.train.labels
    rows = np.arange(len(labels))
    if run.config.balance is Balance.UNDERSAMPLE:
        rows = undersample(labels, rows, seed=_epoch_seed(run.config.seed, epoch))
    return torch.from_numpy(rows)[torch.randperm(len(rows), generator=gen)]


def _epoch_seed(seed: int, epoch: int) -> int:
    return (seed * 1_000_003 + epoch) % (2**63 - 1)


def _epoch(run: _Run, plan: StagePlan, optimizer, scheduler, scaler) -> np.ndarray:
    """Train one epoch and validate; appends the EpochRecord and returns validation probabilities."""
    epoch = len(run.state.history) + 1
    seed = _epoch_seed(run.config.seed, epoch)
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # dropout draws from the global generator
    start, cpu_start = time.perf_counter(), time.process_time()
    order = _epoch_order(run, gen, epoch)
    bs, steps = run.config.batch_size, _steps_per_epoch(run)
    run.progress.epoch_start(epoch, run.config.epochs, steps)
    _train_mode(run.model)
    pixels, labels = torch.from_numpy(run.data.train.pixels), torch.from_numpy(run.data.train.labels)
    teacher = torch.from_numpy(run.teacher.probs) if run.teacher is not None else None
    total_loss = total_right = seen = 0.0
    for step in range(steps):
        rows = order[step * bs:(step + 1) * bs]
        x = training_batch(pixels[rows], run.data.spec, run.config.augment, gen).to(run.device)
        y = labels[rows].float().to(run.device)
        target = y * (1.0 - run.config.label_smoothing) + 0.5 * run.config.label_smoothing
        if teacher is not None:
            target = soft_targets(target, teacher[rows].to(run.device), run.config.distill)
        loss, logits = _step(run, x, target, optimizer, scaler)
        if run.config.schedule is Schedule.ONECYCLE:
            scheduler.step()
        total_loss += loss * len(rows)
        total_right += float(((logits >= 0) == (y >= 0.5)).sum())
        seen += len(rows)
        run.progress.step(total_loss / seen)
    if run.ema is not None:
        _refresh_bn(run.ema.module, run.data, run.device)
    val_logits = predict_logits(run.eval_model, run.data.val.pixels, run.data.spec, device=run.device)
    probs = sigmoid(val_logits)
    auc = roc_auc(run.data.val.labels, probs)
    if run.config.schedule is Schedule.PLATEAU:
        scheduler.step(0.0 if math.isnan(auc) else auc)
    run.state.history.append(EpochRecord(
        epoch=epoch, stage=run.state.stage, lr=float(optimizer.param_groups[0]["lr"]),
        train_loss=total_loss / seen, train_acc=total_right / seen,
        val_loss=bce_loss(val_logits, run.data.val.labels),
        val_acc=float(((probs >= 0.5) == (run.data.val.labels == 1)).mean()), val_auc=auc,
        seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu_start))
    return probs


def _step(run: _Run, x: torch.Tensor, target: torch.Tensor, optimizer, scaler) -> tuple[float, torch.Tensor]:
    weight = run.data.pos_weight
    pos_weight = torch.tensor(weight, device=run.device) if weight is not None else None
    with torch.autocast("cuda", dtype=torch.float16, enabled=run.device.type == "cuda"):
        logits = run.model(x).reshape(-1)
    loss = F.binary_cross_entropy_with_logits(logits.float(), target, pos_weight=pos_weight)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    if run.ema is not None:
        run.ema.update_parameters(run.model)
    return float(loss.detach()), logits.detach()


def _after_epoch(run: _Run, probs: np.ndarray) -> bool:
    """Report the epoch, keep the best checkpoint; True when the stage should stop early."""
    record, state = run.state.history[-1], run.state
    improved = state.best_epoch == 0 or record.val_auc > state.best_auc
    if improved:
        state.best_auc, state.best_epoch, state.bad_epochs = record.val_auc, record.epoch, 0
        _save_best(run, probs)
    else:
        state.bad_epochs += 1
    run.progress.epoch_end(record, state.best_auc)
    stop = run.config.stop_after > 0 and state.bad_epochs >= run.config.stop_after
    if stop:
        run.progress.note(f"early stop: no better validation AUC for {state.bad_epochs} epochs "
                          f"(best {state.best_auc:.4f} at epoch {state.best_epoch})")
    return stop


def _model_checkpoint(run: _Run, model: nn.Module, threshold: float, metrics: dict) -> ModelCheckpoint:
    state_dict = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return ModelCheckpoint(run.config.model, state_dict, run.data.spec, threshold, metrics,
                           run.data.provenance, len(run.state.history))


def _save_best(run: _Run, probs: np.ndarray) -> None:
    labels = run.data.val.labels
    threshold = youden_threshold(labels, probs)
    save_model_checkpoint(run.config.out / BEST,
                          _model_checkpoint(run, run.eval_model, threshold, summary(labels, probs, threshold)))


def _save_last(run: _Run, optimizer, scheduler, scaler) -> None:
    s = run.state
    extra = {
        "config": run.config.resume_key(), "fingerprint": run.data.fingerprint,
        "teacher": run.teacher.fingerprint if run.teacher is not None else None,
        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "ema": run.ema.state_dict() if run.ema is not None else None,
        "state": {"stage": s.stage, "epoch_in_stage": s.epoch_in_stage,
                  "history": [r.__dict__ for r in s.history], "best_auc": s.best_auc,
                  "best_epoch": s.best_epoch, "bad_epochs": s.bad_epochs},
    }
    save_model_checkpoint(run.config.out / LAST, _model_checkpoint(run, run.model, 0.5, {}), extra)
