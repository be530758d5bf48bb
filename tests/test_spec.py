"""The preprocessing spec carries the training patches' resolution (PCam / Kaggle: 0.972 um/px)."""

from __future__ import annotations

import pytest

from hcd_edge.errors import ModelError
from hcd_edge.spec import PCAM_MPP, PreprocessSpec


def test_default_resolution_is_pcams_and_round_trips():
    spec = PreprocessSpec(mean=(0.7, 0.5, 0.7), std=(0.2, 0.2, 0.2))
    assert spec.mpp == PCAM_MPP == 0.972
    assert PreprocessSpec.from_json(spec.to_json()) == spec
    other = PreprocessSpec(mean=(0.7, 0.5, 0.7), std=(0.2, 0.2, 0.2), mpp=0.5)
    assert PreprocessSpec.from_json(other.to_json()).mpp == 0.5
    assert other.with_dtype("float16").mpp == 0.5


def test_a_spec_written_before_mpp_existed_reads_as_pcam():
    assert PreprocessSpec.from_dict({"mean": [0.7, 0.5, 0.7], "std": [0.2, 0.2, 0.2]}).mpp == PCAM_MPP


@pytest.mark.parametrize("mpp", [0.0, -1.0, float("nan")])
def test_a_non_positive_mpp_is_refused(mpp):
    with pytest.raises(ModelError, match="mpp"):
        PreprocessSpec(mean=(0.7, 0.5, 0.7), std=(0.2, 0.2, 0.2), mpp=mpp)
