"""The starter engine used without --engine: built on first use, cached, reused, FP32 fallback."""

from __future__ import annotations

import pytest

from hcd_edge.errors import EngineError, ParityGateError
from hcd_edge.score import default_engine as default_module
from hcd_edge.score.default_engine import INT8_MIN_PATCHES, REFUSED_MARKER, default_engine
from hcd_edge.score.run import ScoreRequest, score
from hcd_edge.score.sources import collect_patches
from hcd_edge.spec import Precision
from tests.builders.patchgen import write_patch_fixture


class Notes:
    """A ProgressReporter that keeps the notes."""

    def __init__(self):
        self.lines = []

    def start(self, task, total):
        pass

    def advance(self, task, steps=1):
        pass

    def finish(self, task):
        pass

    def note(self, message):
        self.lines.append(message)


@pytest.fixture(scope="module")
def starter(tmp_path_factory):
    """160 Kaggle-layout patches and a tiny model with hcd-edge metadata standing in for starter.onnx."""
    return write_patch_fixture(tmp_path_factory.mktemp("starter"))


@pytest.fixture(scope="module")
def refs(starter):
    return collect_patches([starter.root / "train"])


def test_first_use_builds_int8_in_the_cache_and_later_runs_reuse_it(starter, refs, tmp_path):
    notes = Notes()
    first = default_engine(refs, model=starter.model, threads=1, progress=notes)
    assert first.built and first.precision is Precision.INT8
    assert first.engine_dir.is_relative_to(tmp_path / "cache" / "engines")
    assert first.engine_dir.parent.name.startswith("starter-") and "onnxruntime" in first.engine_dir.parent.name
    assert any("cached" in line and str(first.engine_dir.parent) in line for line in notes.lines)
    again = default_engine(refs, model=starter.model, threads=1, progress=(later := Notes()))
    assert not again.built and again.engine_dir == first.engine_dir
    backend = again.engine.manifest.backend
    assert later.lines == [f"using the cached starter engine {first.engine_dir} ({backend})"]


def test_too_few_patches_build_fp32_and_a_larger_run_builds_int8(starter, refs):
    few = default_engine(refs[: INT8_MIN_PATCHES - 1], model=starter.model, threads=1)
    assert few.built and few.precision is Precision.FP32
    assert not default_engine(refs[:10], model=starter.model, threads=1).built  # reused
    more = default_engine(refs, model=starter.model, threads=1)
    assert more.built and more.precision is Precision.INT8


def test_int8_failing_the_gate_falls_back_to_fp32_once(starter, refs, monkeypatch):
    real = default_module._run_build
    calls = []

    def gate_fails_for_int8(model, folder, precision, *args):
        calls.append(precision)
        if precision is Precision.INT8:
            raise ParityGateError("parity gate failed: label agreement 90.00% < 99.00%")
        return real(model, folder, precision, *args)

    monkeypatch.setattr(default_module, "_run_build", gate_fails_for_int8)
    notes = Notes()
    chosen = default_engine(refs, model=starter.model, threads=1, progress=notes)
    assert chosen.precision is Precision.FP32 and (chosen.engine_dir.parent / REFUSED_MARKER).is_file()
    assert any("INT8 starter engine not kept" in line for line in notes.lines)
    assert not default_engine(refs, model=starter.model, threads=1).built
    assert calls == [Precision.INT8, Precision.FP32]


def test_without_a_starter_model_the_message_says_how_to_build_an_engine(tmp_path, refs):
    with pytest.raises(EngineError, match=r"(?s)starter model .*missing\.onnx is not there.*build-engine"):
        default_engine(refs, model=tmp_path / "missing.onnx")


def test_score_without_engine_uses_the_default_engine(starter, tmp_path):
    result = score(ScoreRequest(inputs=(starter.root / "train",), out=tmp_path / "s.csv",
                                threads=1, starter_model=starter.model))
    assert result.summary["default_engine"] and result.summary["precision"] == "int8"
    assert result.counts.scored == 160
    assert result.summary["threshold"] == pytest.approx(starter.threshold)
