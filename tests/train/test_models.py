"""Models: output shape, configurable widths, centre-aware pooling, config round trip, weights files."""

from __future__ import annotations

import pytest
import torch

from hcd_edge.errors import DataError, TrainingUnavailable
from hcd_edge.train.models import (
    Arch,
    Block,
    CentreGlobalPool,
    ModelConfig,
    Pool,
    build_model,
    count_parameters,
    resnet50,
)


@pytest.mark.parametrize("config", [
    ModelConfig(Arch.CNN, widths=(8, 16, 32)),
    ModelConfig(Arch.HCDNET, widths=(8, 16, 32, 64)),
    ModelConfig(Arch.HCDNET, widths=(8, 16, 32), block=Block.PLAIN, pool=Pool.GLOBAL),
])
def test_models_map_a_batch_to_one_logit_each(config):
    model = build_model(config).eval()
    assert model(torch.zeros(3, 3, 96, 96)).shape == (3, 1)


def test_seed_cnn_widths_are_configurable_and_default_to_32_64_128():
    assert ModelConfig(Arch.CNN).resolved_widths() == (32, 64, 128)
    small = count_parameters(build_model(ModelConfig(Arch.CNN, widths=(8, 16, 32))))
    assert small < count_parameters(build_model(ModelConfig(Arch.CNN)))


def test_centre_pool_tells_a_centre_blob_from_a_corner_blob():
    centre, corner = torch.zeros(1, 1, 6, 6), torch.zeros(1, 1, 6, 6)
    centre[..., 2:4, 2:4] = 1
    corner[..., 0:2, 0:2] = 1
    pool = CentreGlobalPool()
    assert torch.equal(pool(centre)[:, 0], pool(corner)[:, 0])  # same global mean
    assert pool(centre)[0, 1] == 1 and pool(corner)[0, 1] == 0


def test_model_config_round_trips_and_rejects_unknown_values():
    config = ModelConfig(Arch.HCDNET, widths=(8, 16), block=Block.PLAIN, pool=Pool.GLOBAL, dropout=0.1)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(DataError, match="invalid model config"):
        ModelConfig.from_dict({"arch": "vgg"})


def test_resnet50_weights_file_problems_are_named(tmp_path):
    with pytest.raises(DataError, match="does not exist.*--weights"):
        resnet50(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(DataError, match="cannot read ResNet50 weights"):
        resnet50(tmp_path / "junk.pth")
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(DataError, match="not a torchvision ResNet50 state_dict"):
        resnet50(tmp_path / "other.pth")


def test_resnet50_without_weights_or_network_says_how_to_get_them(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr("torchvision.models._api.load_state_dict_from_url", offline)
    with pytest.raises(TrainingUnavailable, match=r"resnet50-.*\.pth.*--weights FILE"):
        resnet50(None)
