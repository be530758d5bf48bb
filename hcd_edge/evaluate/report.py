"""The human form of an evaluation: a few lines, each under 80 columns where paths allow."""

from __future__ import annotations


def evaluation_text(metrics: dict) -> str:
    """Lines for the terminal: what was measured on what, AUC with its n and source, the rest."""
    m = metrics
    c = m["confusion"]
    lines = [
        f"evaluated {m['backend']} {m['precision']} engine {m['engine_name']} (tta {m['tta']})",
        f"on {m['n']:,} patches ({m['positives']:,} positive) of {m['source']}"
        + (f"; {m['failed']:,} could not be scored" if m["failed"] else ""),
        f"AUC {_num(m['auc'])} on {m['n']:,} patches of {m['source']}",
        (f"at threshold {m['threshold']:.4g}: accuracy {_num(m['accuracy'])}, sensitivity "
        f"{_num(m['sensitivity'])}, specificity {_num(m['specificity'])}"),
        f"confusion: tn {c['tn']:,}  fp {c['fp']:,}  fn {c['fn']:,}  tp {c['tp']:,}",
        (f"Brier {_num(m['brier'])}, calibration error (ECE, "
        f"{len(m['calibration']['bins'])} bins) {_num(m['calibration']['ece'])}"),
    ]
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
