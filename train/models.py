"""The models: the seed CNN, ResNet50 with a one-logit head, and HcdNet, the small edge model.

Every model maps a (N, 3, 96, 96) normalized float batch to (N, 1) logits of "the centre
32x32 region holds tumour".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch
from torch import nn

from hcd_edge.errors import DataError, TrainingUnavailable


class Arch(str, Enum):
    """Model architectures `hcd-edge train --model` accepts."""

    CNN = "cnn"  # the seed projects' three-block Keras CNN, with batch norm
    RESNET50 = "resnet50"  # torchvision ResNet50, ImageNet-pretrained, one-logit head
    HCDNET = "hcdnet"  # small, fast edge model (default)


class Block(str, Enum):
    """The convolution block HcdNet stacks."""

    SEPARABLE = "separable"  # depthwise 3x3 + pointwise 1x1, each with BN + ReLU
    PLAIN = "plain"  # one full 3x3 convolution with BN + ReLU


class Pool(str, Enum):
    """How HcdNet turns its last feature map into one vector."""

    GLOBAL = "global"  # global average pool
    CENTRE = "centre"  # global average pool concatenated with the average of the centre third


# HcdNet's defaults are the starter model's: on the real patches, plain 24-192 blocks beat
# separable 32-256 by 0.017 validation AUC with the same recipe (benchmarks/models.py).
DEFAULT_WIDTHS = {
    Arch.CNN: (32, 64, 128),
    Arch.HCDNET: (24, 48, 96, 192),
}


@dataclass(frozen=True)
class ModelConfig:
    """What to build; stored (as plain values) in every checkpoint so export can rebuild it."""

    arch: Arch = Arch.HCDNET
    widths: tuple[int, ...] = ()  # per stage; () means the architecture's default
    dropout: float = 0.3  # before the last linear layer (and after each CNN block)
    block: Block = Block.PLAIN  # HcdNet only
    pool: Pool = Pool.CENTRE  # HcdNet only

    def resolved_widths(self) -> tuple[int, ...]:
        """The stage widths this config builds."""
        return self.widths or DEFAULT_WIDTHS.get(self.arch, ())

    def to_dict(self) -> dict:
        """Plain JSON-ready values (enums as strings)."""
        return {"arch": self.arch.value, "widths": list(self.resolved_widths()),
                "dropout": self.dropout, "block": self.block.value, "pool": self.pool.value}

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        """Parse to_dict output; raises DataError on unknown values."""
        try:
            return cls(arch=Arch(d["arch"]), widths=tuple(int(w) for w in d.get("widths", ())),
                       dropout=float(d.get("dropout", cls.dropout)), block=Block(d.get("block", cls.block)),
                       pool=Pool(d.get("pool", cls.pool)))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"invalid model config {d!r}: {exc}") from exc


def conv_bn_relu(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """Conv (no bias) + BatchNorm + ReLU: folds into one quantizable conv at export."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SeedCNN(nn.Module):
    """Three blocks of three 3x3 convs + max pool + dropout, then dense 256, dropout, one logit."""

    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), dropout: float = 0.3, size: int = 96):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for w in widths:
            layers += [conv_bn_relu(cin, w), conv_bn_relu(w, w), conv_bn_relu(w, w),
                       nn.MaxPool2d(2), nn.Dropout(dropout)]
            cin = w
        self.features = nn.Sequential(*layers)
        side = size // 2 ** len(widths)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(cin * side * side, 256), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(256, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class CentreGlobalPool(nn.Module):
    """Average over the whole map and over its centre third, concatenated: (N, 2C).

    The label depends on the centre 32x32 of a 96x96 patch only; a plain global pool cannot
    tell tumour in the centre from tumour in the outer ring, this one can. It exports as
    ReduceMean + Slice, which quantize cleanly.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        centre = x[:, :, h // 3:h - h // 3, w // 3:w - w // 3]
        return torch.cat([x.mean(dim=(2, 3)), centre.mean(dim=(2, 3))], dim=1)


class HcdNet(nn.Module):
    """Edge model: a stride-2 stem, then per stage one stride-2 block and one stride-1 block."""

    def __init__(self, widths: tuple[int, ...] = (24, 48, 96, 192), block: Block = Block.PLAIN,
                 pool: Pool = Pool.CENTRE, dropout: float = 0.2):
        super().__init__()
        stem = widths[0] // 2
        layers: list[nn.Module] = [conv_bn_relu(3, stem, stride=2)]
        cin = stem
        for i, w in enumerate(widths):
            layers += [_block(block, cin, w, stride=1 if i == 0 else 2), _block(block, w, w, 1)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.pool = CentreGlobalPool() if pool is Pool.CENTRE else _GlobalPool()
        features = cin * (2 if pool is Pool.CENTRE else 1)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(features, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))


class _GlobalPool(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def _block(kind: Block, cin: int, cout: int, stride: int) -> nn.Sequential:
    if kind is Block.PLAIN:
        return conv_bn_relu(cin, cout, stride=stride)
    return nn.Sequential(conv_bn_relu(cin, cin, 3, stride, groups=cin), conv_bn_relu(cin, cout, 1))


RESNET50_URL = "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"


def resnet50(weights: Path | None, pretrained: bool = True) -> nn.Module:
    """torchvision ResNet50 with a 1-logit head; ImageNet weights from `weights`, else a download.

    pretrained=False builds it empty, for loading a checkpoint that holds every weight.
    """
    from torchvision.models import resnet50 as tv_resnet50

    model = tv_resnet50(weights=None)
    if pretrained:
        state = _load_state_dict(weights) if weights is not None else _download_imagenet()
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"fc.weight", "fc.bias"}:
            raise DataError(f"{weights or RESNET50_URL} is not a torchvision ResNet50 state_dict "
                            f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.fc = nn.Linear(model.fc.in_features, 1)
    return model


def _load_state_dict(path: Path) -> dict:
    if not Path(path).is_file():
        raise DataError(f"ResNet50 weights file {path} does not exist; download {RESNET50_URL} "
                        "on a machine with network and pass its path with --weights")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle, zip and torch errors all mean "not a weights file"
        raise DataError(f"cannot read ResNet50 weights {path}: {exc}") from exc
    if not isinstance(state, dict):
        raise DataError(f"{path} does not hold a state_dict (got {type(state).__name__})")
    return state


def _download_imagenet() -> dict:
    from torchvision.models import ResNet50_Weights

    try:
        return ResNet50_Weights.IMAGENET1K_V2.get_state_dict(progress=False)
    except Exception as exc:  # URLError, HTTPError, OSError, timeouts: no network here
        raise TrainingUnavailable(
            f"ResNet50 needs ImageNet weights and downloading them failed ({exc}); download "
            f"{ResNet50_Weights.IMAGENET1K_V2.url} on a machine with network and pass it with "
            "--weights FILE, or train --model hcdnet or cnn, which start from scratch"
        ) from exc


def build_model(config: ModelConfig, weights: Path | None = None, *, pretrained: bool = True) -> nn.Module:
    """A fresh model for the config; ResNet50 loads ImageNet weights unless pretrained=False."""
    widths = config.resolved_widths()
    if config.arch is Arch.CNN:
        return SeedCNN(widths, config.dropout)
    if config.arch is Arch.HCDNET:
        return HcdNet(widths, config.block, config.pool, config.dropout)
    return resnet50(weights, pretrained)


def top_layer_prefixes(arch: Arch) -> tuple[str, ...]:
    """Parameter-name prefixes trained in the second fine-tuning stage."""
    return ("layer3.", "layer4.", "fc.") if arch is Arch.RESNET50 else ("",)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable and frozen parameters."""
    return sum(p.numel() for p in model.parameters())
