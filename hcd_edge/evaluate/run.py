"""Evaluation of an engine on labelled patches, through `score`'s pipeline and its score file.

The metrics are computed from the probabilities exactly as `score` writes them, so the AUC an
evaluation prints is the AUC of `hcd-edge score`'s output on the same patches.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hcd_edge.errors import DataError
from hcd_edge.labelled.overlap import Overlap, recorded_provenance, training_overlap
from hcd_edge.labelled.sets import open_labelled_sets, require_labels
from hcd_edge.progress import ProgressReporter, SilentProgress
from hcd_edge.score.output import OutputFormat
from hcd_edge.score.run import ScoreRequest, score
from hcd_edge.score.sources import PatchRef, PatchSet, patch_ref, sort_key
from hcd_edge.score.tta import Tta


@dataclass(frozen=True)
class EvaluateRequest:
    """One `hcd-edge evaluate` run (see the CLI's --help)."""

    data: tuple[Path, ...]  # labelled folders / label CSVs
    engine: Path | None = None  # None: the default engine, as `score`
    tta: Tta = Tta.NONE
    threshold: float | None = None  # None: the engine's threshold
    batch: int | None = None  # None: the engine's optimal batch, as `score`
    threads: int | None = None
    scores: Path | None = None  # keep score's per-patch CSV here; None: a temporary file
    starter_model: Path | None = None


@dataclass
class Evaluation:
    """Metrics (JSON-ready), the per-patch arrays behind them, and where they came from."""

    metrics: dict
    paths: list[Path]  # scored patches, aligned with labels and probabilities
    labels: np.ndarray
    probabilities: np.ndarray
    overlaps: list[Overlap] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # messages of patches that could not be scored


def evaluate(request: EvaluateRequest, progress: ProgressReporter | None = None) -> Evaluation:
    """Score request.data with the engine and measure it against the labels (see Evaluation)."""
    progress = progress or SilentProgress()
    patches = resolved_files(require_labels(open_labelled_sets(request.data), "evaluate:"))
    if len(patches) == 0:
        raise DataError(f"{patches.source} holds no patches")
    with tempfile.TemporaryDirectory(prefix="hcd-edge-evaluate-") as tmp:
        inputs = _write_path_list(patches, Path(tmp) / "patches.csv")
        out = request.scores or Path(tmp) / "scores.csv"
        result = score(ScoreRequest(
            inputs=(inputs,), out=out, fmt=OutputFormat.CSV, engine=request.engine,
            batch=request.batch, threads=request.threads, threshold=request.threshold,
            tta=request.tta, starter_model=request.starter_model,
        ), progress)
        scored = _read_scores(out)
    return _measure(patches, scored, result.summary)


def resolved_files(patches: PatchSet) -> PatchSet:
    """The set with absolute, link-free paths, each file once (first label kept), sorted as
    `score` sorts its inputs, so score's rows line up with the set's patches one to one."""
    assert patches.labels is not None
    first: dict[Path, int] = {}
    refs: list[PatchRef] = []
    for ref, label in zip(patches.refs, patches.labels):
        resolved = patch_ref(ref.path.resolve())
        if resolved.path not in first:
            first[resolved.path] = int(label)
            refs.append(resolved)
    refs.sort(key=sort_key)
    labels = np.array([first[r.path] for r in refs], dtype=np.int8)
    return PatchSet(refs=tuple(refs), labels=labels, source=patches.source)


def _write_path_list(patches: PatchSet, target: Path) -> Path:
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path"])
        writer.writerows([str(p)] for p in patches.paths)
    return target


def _read_scores(path: Path) -> list[tuple[str, str, str]]:
    """(id, probability text, message) of each row of score's CSV, in its order."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [(row["id"], row["probability"], row["message"]) for row in csv.DictReader(fh)]


def _row_of_each_patch(patches: PatchSet, rows: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(probability text, message) per patch of a resolved_files set, from score's rows."""
    if len(rows) != len(patches) or any(row[0] != ref.id for row, ref in zip(rows, patches.refs)):
        raise DataError(f"the score rows of {patches.source} do not line up with its patches")
    return [row[1:] for row in rows]


def _measure(patches: PatchSet, rows: list[tuple[str, str, str]], summary: dict) -> Evaluation:
    from hcd_edge.evaluate.metrics import evaluation_metrics

    assert patches.labels is not None
    kept, probs, failed = [], [], []
    for i, (probability, message) in enumerate(_row_of_each_patch(patches, rows)):
        if probability:
            kept.append(i)
            probs.append(float(probability))
        else:
            failed.append(message)
    labels = patches.labels[kept].astype(np.int64)
    probabilities = np.asarray(probs, dtype=np.float64)
    metrics = evaluation_metrics(labels, probabilities, summary["threshold"])
    provenance, model_file = recorded_provenance(Path(summary["engine"]))
    overlaps = training_overlap([patches.refs[i] for i in kept], provenance, model_file)
    metrics.update(
        source=patches.source, failed=len(failed), engine=summary["engine"],
        engine_name=summary["engine_name"], backend=summary["backend"],
        precision=summary["precision"], default_engine=summary["default_engine"], tta=summary["tta"],
        training_overlap=[{"split": o.name, "list": str(o.list_file), "count": o.count} for o in overlaps],
    )
    return Evaluation(metrics, [patches.refs[i].path for i in kept], labels, probabilities, overlaps, failed)

