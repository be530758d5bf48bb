"""benchmarks/results/*.json -> benchmarks/REPORT.md with the machine described and PNG plots.

    python -m benchmarks.report
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.machine import RESULTS_DIR, ROOT

REPORT = ROOT / "benchmarks" / "REPORT.md"
PLOTS_DIR = RESULTS_DIR / "plots"
ORDER = ("decode", "inference", "end_to_end")  # sections in this order, others after
RUNTIME_ORDER = ("torch-eager/fp32", "onnxruntime/fp32", "onnxruntime/int8", "openvino/fp32",
                 "openvino/int8", "tensorrt/fp16", "tensorrt/int8", "torch-tensorrt/fp16")


def load_results(folder: Path = RESULTS_DIR) -> dict[str, dict]:
    """{benchmark name: its JSON document} for every results file."""
    docs = {}
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text())
        docs[doc.get("benchmark", path.stem)] = doc
    return docs


def markdown_table(columns: list[str], rows: list[list]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_section(doc: dict) -> str:
    """The machine a results file was measured on."""
    m = doc.get("machine", {})
    cpu, gpu = m.get("cpu", {}), m.get("gpu")
    packages = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items() if v)
    lines = [
        (f"- CPU: {cpu.get('brand')} ({cpu.get('arch')}, {cpu.get('cores')} cores visible; "
         f"features {', '.join(cpu.get('features', []))})"),
        f"- GPU: {gpu['name'] + ' (sm ' + gpu['compute_capability'] + ')' if gpu else 'none'}",
        f"- OS: {m.get('os')}; Python {m.get('python')}",
        f"- Packages: {packages}",
        f"- Commit {m.get('commit')}, measured {m.get('when')}",
    ]
    return "\n".join(lines)


def inference_section(doc: dict) -> str:
    """Throughput and latency per model, runtime and batch, with the ratios and plots."""
    records = doc["records"]
    rows = []
    for r in records:
        base = {(q["runtime"], q["precision"]): q["throughput"] for q in records
                if q["model"] == r["model"] and q["batch"] == r["batch"]}
        torch_tp, ort_tp = base.get(("torch-eager", "fp32")), base.get(("onnxruntime", "fp32"))
        rows.append([r["model"], r["runtime"], r["precision"], r["batch"],
                     "-" if r["auc"] is None else f"{r['auc']:.4f}",
                     f"{r['latency_ms']['p50']:.2f}", f"{r['latency_ms']['p99']:.2f}",
                     f"{r['throughput']:,.0f}", _ratio(r["throughput"], torch_tp),
                     _ratio(r["throughput"], ort_tp)])
    table = markdown_table(["model", "runtime", "precision", "batch", "AUC (val)", "p50 ms/batch",
                            "p99 ms/batch", "patches/s", "x torch eager", "x ORT FP32"], rows)
    plots = [plot_throughput(records), plot_latency(records, batch=64)]
    images = "\n".join(f"![{p.stem}]({p.relative_to(REPORT.parent)})" for p in plots if p)
    skipped = "\n".join(f"- skipped: {s}" for s in doc.get("skipped", []))
    intro = (f"Data: {doc.get('data')}. Untrained models are timed with fresh weights (speed does "
             "not depend on them); AUC is given for the trained starter model only.")
    return "\n\n".join(x for x in (intro, table, images, skipped) if x)


def plot_throughput(records: list[dict]) -> Path | None:
    """PNG: patches/s against batch size, one line per runtime, one panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = sorted({r["model"] for r in records})
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        for key in _runtimes(records):
            pts = sorted((r["batch"], r["throughput"]) for r in records
                         if r["model"] == model and f"{r['runtime']}/{r['precision']}" == key)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=key)
        ax.set(title=model, xlabel="batch size", ylabel="patches/s", xscale="log", yscale="log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, "inference_throughput.png")


def plot_latency(records: list[dict], batch: int) -> Path | None:
    """PNG: distribution of per-batch latency at one batch size, per runtime and model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = [r for r in records if r["batch"] == batch and r.get("samples_ms")]
    if not chosen:
        return None
    models = sorted({r["model"] for r in chosen})
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axes[0], models):
        rows = [r for key in _runtimes(chosen) for r in chosen
                if r["model"] == model and f"{r['runtime']}/{r['precision']}" == key]
        ax.boxplot([r["samples_ms"] for r in rows], showfliers=True)
        ax.set_xticks(range(1, len(rows) + 1), [f"{r['runtime']}\n{r['precision']}" for r in rows],
                      fontsize=7)
        ax.set(title=f"{model}, batch {batch}", ylabel="ms per batch", yscale="log")
        ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, f"inference_latency_b{batch}.png")


def _runtimes(records: list[dict]) -> list[str]:
    present = {f"{r['runtime']}/{r['precision']}" for r in records}
    return [k for k in RUNTIME_ORDER if k in present] + sorted(present - set(RUNTIME_ORDER))


def _save(fig, name: str) -> Path:
    PLOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = PLOTS_DIR / name
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _ratio(value: float, base: float | None) -> str:
    return "-" if not base else f"{value / base:.2f}x"


def generic_section(doc: dict) -> str:
    """A results file without a renderer of its own: its printed table, or its JSON."""
    if "table" in doc and isinstance(doc["table"], dict):
        return markdown_table(doc["table"]["columns"], doc["table"]["rows"])
    shown = {k: v for k, v in doc.items() if k not in ("machine", "benchmark")}
    return "```json\n" + json.dumps(shown, indent=2)[:6000] + "\n```"


def end_to_end_section(doc: dict) -> str:
    """score beside inference alone, a naive loop and the decoder alone; the null engine's host
    side with its stage breakdown and projection; start-up; memory."""
    columns = ["engine", "patches", "inference only/s", "score (whole call)/s", "score (pipeline)/s",
               "naive loop/s", "decoder/s", "score/inference", "score/naive", "score/decoder"]
    rows = []
    for name, e in doc.get("engines", {}).items():
        if "ratios" not in e:
            continue
        rate, ratio = e["patches_per_s"], e["ratios"]
        rows.append([f"{name}: {e['about']}", e["patches"]]
                    + [f"{rate[k]:,.0f}" for k in ("inference_only", "score_wall", "score_pipeline",
                                                   "naive", "decoder")]
                    + [f"{ratio[f'wall_vs_{k}']:.2f} ({ratio[f'pipeline_vs_{k}']:.2f})"
                       for k in ("inference_only", "naive", "decoder")])
    memory = doc.get("memory", {})
    lines = [f"Patches: {doc.get('patches', {}).get('source')}; {doc.get('system')}"]
    if rows:
        lines += [markdown_table(columns, rows),
                  "Ratios: whole call (pipeline only, from the first decode to the renamed CSV)."]
    null = doc.get("engines", {}).get("null")
    if null and "decoder_per_s" in null:
        lines.append(null_section(null))
    if "startup" in doc:
        lines.append(startup_line(doc["startup"]))
    if memory:
        sizes = [k for k in memory if k != "ratio"]
        lines.append("Peak RSS of `hcd-edge score` (null engine): " + "; ".join(
            f"{k} patches {memory[k]['peak_rss_mib']} MiB" for k in sizes)
            + f" (ratio {memory.get('ratio')})")
    return "\n\n".join(lines)


def startup_line(up: dict) -> str:
    """The start-up of one patch's `hcd-edge score`, split where the run measured the parts."""
    line = (f"Start-up: `hcd-edge score` of one patch with an engine given, best of "
            f"{len(up['all_seconds'])}: {up['best_seconds']} s")
    if "run_and_exit_seconds" in up:  # results before the split have only the total
        line += (f" = {up['import_numpy_onnxruntime_seconds']} s `import numpy, onnxruntime` + "
                 f"{up['hcd_edge_imports_seconds']} s hcd-edge's own imports (click, the score stack) + "
                 f"{up['run_and_exit_seconds']} s the run and the exit")
    if "full_exit_best_seconds" in up:  # results before the quick exit have no side-by-side run
        line += (f"; the same run through the interpreter's full teardown (HCD_EDGE_FULL_EXIT=1): "
                 f"{up['full_exit_best_seconds']} s, so the quick exit saves "
                 f"{up['quick_exit_saves_seconds']} s")
    return line + "."


def _paired(row: dict) -> str:
    """'0.83, 0.86, 0.88 (0.86)': each repeat's marginal/decoder ratio and their median."""
    return f"{', '.join(f'{x:.2f}' for x in row['paired_vs_decoder'])} ({row['paired_median']:.2f})"


def null_section(null: dict) -> str:
    """The null engine: score beside the decoder, where each microsecond per patch goes, projection."""
    kinds = null.get("rows", ["list", "folder"])  # (input, batch) rows; older results: list, folder
    paired = all("paired_vs_decoder" in null[kind] for kind in kinds)  # older results: bests only
    columns = ["input", "score whole call/s", "marginal/s", "decoder/s", "marginal/decoder",
               *(["per repeat (median)"] if paired else []), "core-us/patch score", "core-us/patch decoder"]
    rows = [[kind, f"{null[kind]['score_per_s']:,.0f}", f"{null[kind]['marginal_per_s']:,.0f}",
             f"{null['decoder_per_s']:,.0f}", f"{null[kind]['marginal_vs_decoder']:.2f}",
             *([_paired(null[kind])] if paired else []),
             f"{null[kind]['core_us_per_patch']:.2f}", f"{null['decoder_core_us_per_patch']:.2f}"]
            for kind in kinds]
    stages = list(null["folder"]["microseconds_per_patch"] or {})
    stage_rows = [[kind, *(f"{(null[kind]['microseconds_per_patch'] or {}).get(s, 0):.2f}" for s in stages)]
                  for kind in kinds]
    roles = sorted({r for kind in kinds for r in null[kind].get("thread_core_us_per_patch") or {}})
    thread_rows = [[kind, *(f"{(null[kind].get('thread_core_us_per_patch') or {}).get(r, 0):.2f}" for r in roles)]
                   for kind in kinds]
    projection = [[name, p["host_cores"], p["core_slowdown"], f"{p['host_per_s']:,}",
                   f"{p['engine_per_s']:,}", f"{p['sustained_per_s']:,}", p["limit"]]
                  for name, p in null["projection"].items()]
    batch = null["folder"].get("batch")
    return "\n\n".join([
        (f"**Null engine** ({null['about']}), {null['patches']:,} patches"
         + (f", batch {batch} unless the row says otherwise" if batch else "")
         + f"; score of one patch {null['score_one_seconds']} s; marginal = (N - 1) / (wall - wall "
         "of one patch); the decoder is the best of chunks of 64 and 256; marginal/decoder is the "
         "ratio of the bests" + (", per repeat each score run beside the decoder run just before "
                                 "it" if paired else "") + "."),
        markdown_table(columns, rows),
        ("Microseconds per patch by stage (wall seconds / patches; decode is summed over its "
        "threads, stages overlap):"),
        markdown_table(["input", *stages], stage_rows),
        *([("Core-microseconds per patch by thread (each thread's CPU clock: what the stages cost "
            "without the time they spent preempted; main includes listing the inputs):"),
           markdown_table(["input", *roles], thread_rows)] if roles else []),
        (f"Projection on paper from the {null.get('projection_from', 'folder')} row (host rate = "
         "host cores x 1e6 / (core-us per patch x per-core slowdown), capped by the engine's anchor "
         "rate; assumptions in benchmarks/end_to_end.py):"),
        markdown_table(["device", "host cores", "per-core slowdown", "host patches/s",
                        "engine patches/s", "sustained patches/s", "bound"], projection),
    ])


def models_section(doc: dict) -> str:
    """Trained runs side by side: size, validation AUC, training time, ORT FP32 speed."""
    columns = ["run", "arch", "parameters", "val AUC", "val AUC (8-view TTA)", "accuracy",
               "train min", "ORT FP32 patches/s"]
    rows = [[r["run"], r["arch"], f"{r['parameters']:,}", f"{r['val_auc']:.4f}",
             "-" if r.get("val_auc_tta") is None else f"{r['val_auc_tta']:.4f}",
             f"{r['val_accuracy']:.3f}", f"{r['train_seconds'] / 60:.0f}", f"{r['patches_per_s']:,.0f}"]
            for r in doc.get("runs", [])]
    return (f"Batch {doc.get('batch')}, {doc.get('threads')} threads, {doc.get('rounds')} rounds; "
            "training times were measured on a shared machine.\n\n" + markdown_table(columns, rows))


SECTIONS: dict[str, Callable[[dict], str]] = {
    "inference": inference_section, "end_to_end": end_to_end_section, "models": models_section,
}


def write_report(docs: dict[str, dict], path: Path = REPORT) -> Path:
    """Render REPORT.md from the loaded results."""
    names = [n for n in ORDER if n in docs] + sorted(set(docs) - set(ORDER))
    intro = ("Generated by `make bench` (`python -m benchmarks.run_all`) from "
             "benchmarks/results/*.json; every ratio compares figures measured side by side in the "
             "same run.")
    parts = ["# hcd-edge benchmark report", "", intro, ""]
    for name in names:
        doc = docs[name]
        render = SECTIONS.get(name, generic_section)
        command = doc.get("command") or f"python -m benchmarks.{name}"
        parts += [f"## {name.replace('_', ' ')}", "", f"Command: `{command}`", "",
                  "Machine:", "", machine_section(doc), "", render(doc), ""]
    path.write_text("\n".join(parts))
    return path


def main() -> int:
    """Rewrite benchmarks/REPORT.md from the results folder."""
    docs = load_results()
    if not docs:
        print(f"no results in {RESULTS_DIR}; run make bench first", file=sys.stderr)
        return 1
    print(f"wrote {write_report(docs)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
