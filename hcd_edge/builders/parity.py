"""The parity gate: does the built engine score like the FP32 reference on held-out patches?

Both score the same decoded patches. Labelled sets are gated on AUC loss (reference AUC minus
engine AUC) and label agreement at the model's threshold; unlabelled sets on agreement and the
largest probability change. Defaults per precision:

| precision | AUC loss <= | agreement >= | max abs dprob <= (unlabelled only) |
|-----------|-------------|--------------|------------------------------------|
| fp32      | 0.0001      | 99.9%        | 0.001  (graph rewrites reorder float sums, nothing more) |
| fp16      | 0.0005      | 99.9%        | 0.01   (fp16 keeps ~3 decimal digits of a logit)        |
| int8      | 0.003       | 99%          | 0.15   (a sound calibration moves few patches by > 0.1; |
|           |             |              |         a broken one moves many by 0.3 or more)          |

`build-engine --min-agreement` replaces the agreement limit (with_agreement); the doctor's smoke
test on generated patches drops it, since those sit near the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, replace

import numpy as np

from hcd_edge.backends.base import Executor, sigmoid
from hcd_edge.builders.patches import iter_decoded
from hcd_edge.builders.request import GateThresholds
from hcd_edge.score.sources import PatchRef
from hcd_edge.spec import Precision, PreprocessSpec

PARITY_TASK = "parity check"

DEFAULT_THRESHOLDS = {
    Precision.FP32: GateThresholds(max_auc_loss=0.0001, min_agreement=0.999, max_abs_dprob=0.001),
    Precision.FP16: GateThresholds(max_auc_loss=0.0005, min_agreement=0.999, max_abs_dprob=0.01),
    Precision.INT8: GateThresholds(max_auc_loss=0.003, min_agreement=0.99, max_abs_dprob=0.15),
}


def with_agreement(precision: Precision, min_agreement: float | None) -> GateThresholds:
    """The precision's default limits with the label-agreement limit replaced (None: not gated)."""
    return replace(DEFAULT_THRESHOLDS[precision], min_agreement=min_agreement)


def score_both(
    reference: Executor,
    engine: Executor,
    refs: Sequence[PatchRef],
    spec: PreprocessSpec,
    threads: int | None,
    progress,
    min_batch: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(p_reference, p_engine, kept indices, unreadable count) over refs, decoded once for both.

    Batches smaller than min_batch (a TensorRT profile's minimum) are padded with zero rows.
    """
    p_ref, p_eng, kept, unreadable = [], [], [], 0
    progress.start(PARITY_TASK, len(refs))
    try:
        for start, inputs, statuses in iter_decoded(refs, spec, threads):
            ok = np.flatnonzero(statuses == 0)
            unreadable += len(statuses) - len(ok)
            if len(ok):
                batch = _pad(np.ascontiguousarray(inputs[ok]), min_batch)
                p_ref.append(sigmoid(reference.infer(batch))[: len(ok)])
                p_eng.append(sigmoid(engine.infer(batch))[: len(ok)])
                kept.append(start + ok)
            progress.advance(PARITY_TASK, len(statuses))
    finally:
        progress.finish(PARITY_TASK)
    if not kept:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=np.int64), unreadable
    return np.concatenate(p_ref), np.concatenate(p_eng), np.concatenate(kept), unreadable


def _pad(batch: np.ndarray, min_batch: int) -> np.ndarray:
    if len(batch) >= min_batch:
        return batch
    padded = np.zeros((min_batch, *batch.shape[1:]), dtype=batch.dtype)
    padded[: len(batch)] = batch
    return padded


def evaluate(
    p_ref: np.ndarray,
    p_eng: np.ndarray,
    labels: np.ndarray | None,
    threshold: float,
    limits: GateThresholds,
) -> dict:
    """Parity numbers and the gate verdict ('passed', 'failures') for one validation set."""
    agree = (p_ref >= threshold) == (p_eng >= threshold)
    delta = np.abs(p_eng - p_ref)
    report: dict = {
        "n": len(p_ref),
        "threshold": threshold,
        "agreement": float(agree.mean()),
        "disagreements": int((~agree).sum()),
        # how far from the threshold the flipped patches were in FP32: near it, a flip is noise
        "flip_max_margin": float(np.abs(p_ref[~agree] - threshold).max()) if (~agree).any() else 0.0,
        "max_abs_dprob": float(delta.max()),
        "mean_abs_dprob": float(delta.mean()),
        "limits": asdict(limits),
    }
    labelled = labels is not None and len(np.unique(labels)) == 2
    report["labelled"] = labelled
    if labels is not None and not labelled:
        report["note"] = "the labels hold one class only, so AUC is undefined; gated as unlabelled"
    if labelled:
        report.update(_auc(p_ref, p_eng, labels))  # type: ignore[arg-type]
    report["failures"] = _failures(report, limits, labelled)
    report["passed"] = not report["failures"]
    return report


def describe(report: dict) -> str:
    """One line of the parity numbers, e.g. for a note or an error message."""
    parts = [
        f"n={report['n']}",
        f"agreement {report['agreement']:.2%}",
        f"max |dprob| {report['max_abs_dprob']:.4f}",
    ]
    if report.get("disagreements"):
        parts.insert(
            2,
            f"{report['disagreements']} flipped (FP32 probability within "
            f"{report['flip_max_margin']:.3f} of the threshold)",
        )
    if report.get("labelled"):
        parts.insert(
            1,
            f"AUC {report['auc_reference']:.4f} -> {report['auc_engine']:.4f} "
            f"(loss {report['auc_loss']:+.4f})",
        )
    return ", ".join(parts)


def _auc(p_ref: np.ndarray, p_eng: np.ndarray, labels: np.ndarray) -> dict:
    from sklearn.metrics import roc_auc_score

    auc_ref, auc_eng = float(roc_auc_score(labels, p_ref)), float(roc_auc_score(labels, p_eng))
    return {"auc_reference": auc_ref, "auc_engine": auc_eng, "auc_loss": auc_ref - auc_eng}


def _failures(report: dict, limits: GateThresholds, labelled: bool) -> list[str]:
    failures = []
    if limits.min_agreement is not None and report["agreement"] < limits.min_agreement:
        failures.append(f"label agreement {report['agreement']:.2%} < {limits.min_agreement:.2%}")
    if labelled and limits.max_auc_loss is not None and report["auc_loss"] > limits.max_auc_loss:
        failures.append(f"AUC loss {report['auc_loss']:.4f} > {limits.max_auc_loss}")
    if (
        not labelled
        and limits.max_abs_dprob is not None
        and report["max_abs_dprob"] > limits.max_abs_dprob
    ):
        failures.append(f"max |dprob| {report['max_abs_dprob']:.4f} > {limits.max_abs_dprob}")
    return failures
