"""The settings of one training run, stored in its checkpoints so a resume can check them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from pathlib import Path

from hcd_edge.errors import DataError
from hcd_edge.train.augment import Augment
from hcd_edge.train.models import Arch, ModelConfig
from hcd_edge.train.split import Balance, SplitKind


class Schedule(str, Enum):
    """Learning-rate schedule within a stage."""

    ONECYCLE = "onecycle"  # warm up to lr, then anneal to ~0 over the stage (per step)
    PLATEAU = "plateau"  # keep lr, divide it by 3 when validation AUC stalls (per epoch)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a run computes (plus where it writes and how fast)."""

    data: Path | tuple[Path, ...]  # one folder or list file, or several folders (stored as a tuple)
    out: Path
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3  # peak (one-cycle) or initial (plateau); ResNet50 stage 2 uses lr / 10
    weight_decay: float = 1e-4
    schedule: Schedule = Schedule.ONECYCLE
    patience: int | None = None  # stop a stage after this many epochs without a better val AUC;
    # 0 = never; None = 0 for one-cycle (its best epochs come as it anneals), 5 for plateau
    seed: int = 0
    val_fraction: float = 0.2  # of what is left after the holdout: the split that picks the best epoch
    holdout: int = 0  # patches kept out of training and checkpoint choice, scored at the end; 0 = none
    holdout_from: Path | None = None  # draw the holdout from this --data folder only; None = from all
    label_smoothing: float = 0.0  # train against targets y * (1 - s) + s / 2
    teachers: tuple[Path, ...] = ()  # ONNX models whose mean 8-view TTA probability the student also learns
    distill: float = 0.0  # weight of the teachers' probability in the target; > 0 exactly with teachers
    split: SplitKind = SplitKind.STRATIFIED
    balance: Balance = Balance.NONE
    augment: Augment = field(default_factory=Augment)
    weights: Path | None = None  # ResNet50 ImageNet state_dict file
    head_epochs: int = 1  # ResNet50: epochs with the backbone frozen before unfreezing the top
    limit: int | None = None  # use only the first N patches (of each PCam split)
    tta: bool = False  # also report validation AUC averaged over the 8 dihedral transforms
    ema: float = 0.0  # decay of a moving average of the weights, validated and saved; 0 = off
    threads: int | None = None  # torch CPU threads; None = all cores
    data_name: str = ""  # recorded in provenance, e.g. "Kaggle HCD train subset (CC0)"
    command: str = ""  # the command line, recorded in provenance

    def __post_init__(self) -> None:
        data = (Path(self.data),) if isinstance(self.data, (str, Path)) else tuple(Path(d) for d in self.data)
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "teachers", tuple(Path(t) for t in self.teachers))
        checks = [(len(data) >= 1, "give at least one --data"), (self.holdout >= 0, "holdout must be >= 0"),
                  (0.0 <= self.label_smoothing < 1.0, "label smoothing must be in [0, 1)"),
                  (self.holdout_from is None or self.holdout > 0, "--holdout-from needs --holdout N"),
                  (0.0 <= self.distill <= 1.0, "the distillation weight must be in [0, 1]"),
                  ((not self.teachers) == (self.distill == 0.0),
                   "a --teacher needs a distillation weight > 0, and a weight needs a --teacher"),
                  (self.epochs >= 1, "epochs must be >= 1"), (self.batch_size >= 2, "batch size must be >= 2"),
                  (self.lr > 0, "the learning rate must be positive"),
                  (self.patience is None or self.patience >= 0, "patience must be >= 0"),
                  (self.head_epochs >= 0, "head epochs must be >= 0"),
                  (0.0 <= self.ema < 1.0, "the EMA decay must be in [0, 1)")]
        for ok, message in checks:
            if not ok:
                raise DataError(f"invalid training settings: {message}")
        if self.weights is not None and self.model.arch is not Arch.RESNET50:
            raise DataError("--weights is for --model resnet50 only")

    @property
    def stop_after(self) -> int:
        """Epochs without a better validation AUC that end a stage (0: never)."""
        if self.patience is not None:
            return self.patience
        return 0 if self.schedule is Schedule.ONECYCLE else 5

    @property
    def folders(self) -> tuple[Path, ...]:
        """The --data folders or list files (__post_init__ stores a tuple; typed wider for callers)."""
        return self.data if isinstance(self.data, tuple) else (self.data,)

    def to_dict(self) -> dict:
        """Plain JSON-ready values."""
        d = asdict(self)
        d.update(data=[str(p) for p in self.folders], out=str(self.out),
                 holdout_from=str(self.holdout_from) if self.holdout_from else None, model=self.model.to_dict(),
                 teachers=[str(t) for t in self.teachers],
                 schedule=self.schedule.value, split=self.split.value, balance=self.balance.value,
                 weights=str(self.weights) if self.weights else None)
        return d

    def resume_key(self) -> dict:
        """The fields a resumed run must share with the run it continues."""
        d = self.to_dict()
        for name in ("out", "threads", "command", "data", "holdout_from", "teachers"):  # teachers: by their targets
            d.pop(name)
        return d

    def with_out(self, out: Path) -> TrainConfig:
        """The same run writing to another folder."""
        return replace(self, out=Path(out))
