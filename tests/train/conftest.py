"""Shared fixtures for train/ tests: generated patch sets and one tiny trained run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="train/ tests need PyTorch (pip install 'hcd-edge[train]')")

from hcd_edge.synthetic import write_synthetic_set

TINY_WIDTHS = (8, 16, 32, 64)


def tiny_config(data: Path, out: Path, **changes):
    """A fast HcdNet run on 2 cores: narrow, few epochs, small batches."""
    from hcd_edge.train import ModelConfig, TrainConfig

    settings = {"data": data, "out": out, "model": ModelConfig(widths=TINY_WIDTHS), "epochs": 6,
                    "batch_size": 32, "lr": 3e-3, "threads": 2}
    settings.update(changes)
    return TrainConfig(**settings)


@pytest.fixture(scope="session")
def synthetic_600(tmp_path_factory) -> Path:
    """600 generated patches in the Kaggle layout (seed 1)."""
    root = tmp_path_factory.mktemp("synth600") / "data"
    write_synthetic_set(root, 600, seed=1)
    return root


@pytest.fixture(scope="session")
def synthetic_96(tmp_path_factory) -> Path:
    """96 generated patches: enough for runs that only check mechanics."""
    root = tmp_path_factory.mktemp("synth96") / "data"
    write_synthetic_set(root, 96, seed=2)
    return root


@pytest.fixture(scope="session")
def trained_run(synthetic_600, tmp_path_factory):
    """One tiny HcdNet run on the 600 generated patches (about 5 s on 2 cores)."""
    from hcd_edge.train import train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    return train(tiny_config(synthetic_600, out, tta=True))
