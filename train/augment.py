"""Batch transforms in torch: uint8 NHWC -> normalized NCHW, dihedral group, light colour jitter.

The label of a patch (tumour in the centre 32x32) is unchanged by the 8 symmetries of the
square, so they are free data; stain and scanner variation motivates the colour jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hcd_edge.spec import PreprocessSpec


@dataclass(frozen=True)
class Augment:
    """Training-time augmentation settings."""

    dihedral: bool = True  # random rotation by k*90 degrees and mirror
    brightness: float = 0.1  # multiply by 1 + U(-b, b)
    contrast: float = 0.1  # scale around the patch mean by 1 + U(-c, c)
    saturation: float = 0.1  # blend with grey by U(-s, s)
    stain: float = 0.03  # per-channel gain 1 + U(-s, s): stain and scanner variation
    shift: int = 0  # random translation by up to this many pixels (reflected border); the
    # label's 32x32 centre moves by as much, so keep it small
    hed: float = 0.0  # HED stain jitter: each stain's optical density times 1 + U(-h, h), plus U(-h/4, h/4)

    @classmethod
    def off(cls) -> Augment:
        """No augmentation."""
        return cls(dihedral=False, brightness=0.0, contrast=0.0, saturation=0.0, stain=0.0, shift=0, hed=0.0)


def to_unit(pixels: torch.Tensor) -> torch.Tensor:
    """(N, 96, 96, 3) uint8 -> (N, 3, 96, 96) float32 in [0, 1]."""
    return pixels.permute(0, 3, 1, 2).float().div_(255.0)


def normalize(x: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    """(x - mean) / std per channel, x in units of pixel/255, exactly as the decoder does."""
    mean = torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Transform k (0-7) of the dihedral group: rotate by 90*(k % 4) degrees, mirror when k >= 4."""
    y = torch.rot90(x, k % 4, dims=(2, 3))
    return torch.flip(y, dims=(3,)) if k >= 4 else y


def random_dihedral(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Each patch of the batch under its own random dihedral transform."""
    ks = torch.randint(0, 8, (x.shape[0],), generator=gen)
    out = torch.empty_like(x)
    for k in range(8):
        rows = (ks == k).nonzero(as_tuple=True)[0]
        if rows.numel():
            out[rows] = dihedral(x[rows], k)
    return out


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Each patch translated by its own random (dy, dx) in [-max_shift, max_shift] pixels."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (max_shift,) * 4, mode="reflect")
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=gen).tolist()
    return torch.stack([padded[i, :, dy:dy + h, dx:dx + w] for i, (dy, dx) in enumerate(offsets)])


def colour_jitter(x: torch.Tensor, aug: Augment, gen: torch.Generator) -> torch.Tensor:
    """Light per-patch brightness, contrast, saturation and stain jitter on [0, 1] images."""
    n = x.shape[0]

    def uniform(scale: float, *shape: int) -> torch.Tensor:
        return (torch.rand((n, *shape), generator=gen) * 2 - 1) * scale

    x = x * (1 + uniform(aug.brightness, 1, 1, 1)) * (1 + uniform(aug.stain, 3, 1, 1))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + uniform(aug.contrast, 1, 1, 1)) + mean
    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * (1 + uniform(aug.saturation, 1, 1, 1))
    return x.clamp_(0.0, 1.0)


# Ruifrok & Johnston's haematoxylin, eosin and DAB optical-density vectors (as in skimage.color).
RGB_FROM_HED = ((0.65, 0.70, 0.29), (0.07, 0.99, 0.11), (0.27, 0.57, 0.78))
MIN_INTENSITY = 1.0 / 255.0  # floor before the log: a black pixel has finite optical density


def hed_jitter(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Per-patch random scale and shift of the H, E and D stain densities (Tellez et al. 2018), [0, 1] images."""
    n = x.shape[0]
    rgb_from_hed = torch.tensor(RGB_FROM_HED, dtype=x.dtype)
    hed_from_rgb = torch.linalg.inv(rgb_from_hed)
    density = -torch.log(x.clamp(min=MIN_INTENSITY)).permute(0, 2, 3, 1)  # (N, H, W, 3) optical density
    stains = density @ hed_from_rgb
    gain = 1 + (torch.rand((n, 1, 1, 3), generator=gen) * 2 - 1) * strength
    bias = (torch.rand((n, 1, 1, 3), generator=gen) * 2 - 1) * (strength / 4)
    out = torch.exp(-((stains * gain + bias) @ rgb_from_hed)).permute(0, 3, 1, 2)
    return out.clamp_(0.0, 1.0).contiguous()


def training_batch(pixels: torch.Tensor, spec: PreprocessSpec, aug: Augment,
                   gen: torch.Generator) -> torch.Tensor:
    """uint8 NHWC patches -> augmented, normalized NCHW model input."""
    x = to_unit(pixels)
    if aug.dihedral:
        x = random_dihedral(x, gen)
    if aug.shift > 0:
        x = random_shift(x, aug.shift, gen)
    if aug.hed > 0:
        x = hed_jitter(x, aug.hed, gen)
    if max(aug.brightness, aug.contrast, aug.saturation, aug.stain) > 0:
        x = colour_jitter(x, aug, gen)
    return normalize(x, spec)
