"""What `hcd-edge inspect` prints: the short summary of an engine or an ONNX model, and the
full field-by-field table (--full)."""

from __future__ import annotations

from pathlib import Path

# (section, manifest keys) of the --full table
SECTIONS = (
    ("engine", ("name", "stage", "backend", "backend_version", "precision", "engine_file",
                "engine_sha256", "created", "hcd_edge_version", "schema_version")),
    ("source", ("source_onnx", "source_onnx_sha256", "model", "threshold", "preprocess")),
    ("device", ("device",)),
    ("shapes", ("batch", "inputs", "outputs")),
    ("precision pass", ("quantization", "calibration")),
    ("parity", ("parity",)),
    ("build", ("build_options",)),
)


def engine_summary(folder: Path, data: dict, check: str) -> list[tuple[str, str]]:
    """(field, value) rows of the short view: name, backend, precision, device, parity,
    threshold, model, file check."""
    device = data.get("device") or {}
    rows = [
        ("engine", str(folder)),
        ("name", data["name"]),
        ("backend", f"{data['backend']} {data.get('backend_version', '')}".strip()
         + (" (portable ONNX, compile on the device)" if data.get("stage") == "onnx" else "")),
        ("precision", data["precision"]),
        ("device", describe_device(device)),
        ("parity", describe_parity(data.get("parity"))),
        ("threshold", f"{data['threshold']:.4g}"),
    ]
    model = data.get("model") or {}
    rows.append(("model", describe_model(model.get("architecture", "unknown"),
                                         model.get("metrics") or {}, model.get("provenance") or {})))
    calibration = data.get("calibration")
    if isinstance(calibration, dict) and calibration.get("count"):
        rows.append(("calibrated", f"{calibration['count']:,} patches of {calibration.get('source', '?')}"))
    rows.append(("files", check))
    return rows


def model_summary(path: Path, props: dict[str, str], info, precision: str, graph: dict) -> list[tuple[str, str]]:
    """(field, value) rows of the short view of an ONNX model's hcd-edge metadata."""
    rows = [
        ("model", str(path)),
        ("architecture", info.architecture),
        ("precision", precision),
        ("graph", f"opset {graph['opset']}, input {graph['input']}, output {graph['output']}"),
        ("preprocess", f"mean {_triple(info.spec.mean)}, std {_triple(info.spec.std)}"),
        ("threshold", f"{info.threshold:.4g}"),
        ("validation", describe_model(info.architecture, info.metrics, info.provenance, prefix=False)),
    ]
    provenance = info.provenance
    if isinstance(provenance.get("data"), dict) and provenance["data"].get("source"):
        rows.append(("trained on", str(provenance["data"]["source"])))
    if provenance.get("run"):
        rows.append(("run folder", str(provenance["run"])))
    other = sorted(k for k in props if not k.startswith("hcd_edge."))
    if other:
        rows.append(("other metadata", ", ".join(other)))
    return rows


def describe_device(device: dict) -> str:
    """'cpu AMD EPYC (x86_64, 2 cores, avx2 avx512f ...)' or 'gpu NAME (sm 8.9, ...)'."""
    if device.get("kind") == "gpu":
        return (f"gpu {device.get('name', '?')} (compute capability "
                f"{device.get('compute_capability', '?')}, driver {device.get('driver', '?')})")
    features = device.get("features") or []
    shown = " ".join(features[:4]) + (f" +{len(features) - 4}" if len(features) > 4 else "")
    return (f"cpu {device.get('brand', '?')} ({device.get('arch', '?')}, "
            f"{device.get('cores', '?')} cores{', ' + shown if shown else ''})")


def describe_parity(parity: dict | None) -> str:
    """Passed/failed, n and the AUCs with the patches' source, on a few words."""
    if not isinstance(parity, dict):
        return "not measured"
    if parity.get("skipped"):
        return f"not measured ({parity['skipped']})"
    verdict = "passed" if parity.get("passed") else "FAILED"
    parts = [f"{verdict}: n={parity.get('n', '?')}"]
    if parity.get("labelled") and parity.get("auc_engine") is not None:
        parts.append(f"AUC {parity['auc_reference']:.4f} -> {parity['auc_engine']:.4f}")
    if parity.get("agreement") is not None:
        limit = (parity.get("limits") or {}).get("min_agreement")
        parts.append(f"agreement {parity['agreement']:.2%}"
                     + (f" (gate >= {limit:.2%})" if isinstance(limit, (int, float)) else ""))
    text = ", ".join(parts)
    return text + (f"\non {parity['val_source']}" if parity.get("val_source") else "")


def describe_model(architecture: str, metrics: dict, provenance: dict, prefix: bool = True) -> str:
    """'hcdnet, validation AUC 0.8754 on 1,000 patches (split seed 0)' or what is known."""
    head = f"{architecture}, " if prefix else ""
    auc = metrics.get("auc")
    if not isinstance(auc, (int, float)):
        return head + "no validation metrics recorded"
    recorded = provenance.get("split")
    split: dict = recorded if isinstance(recorded, dict) else {}
    n = metrics.get("n", split.get("n_val"))
    where = f" on {n:,} patches" if isinstance(n, int) else ""
    how = f" (train's {split.get('kind', 'held-out')} split, seed {split['seed']})" if "seed" in split else ""
    return f"{head}validation AUC {auc:.4f}{where}{how}"


def full_rows(data: dict) -> list[tuple[str, str, str]]:
    """(section, field, value) rows of every manifest field, grouped as SECTIONS."""
    rows = []
    for section, keys in SECTIONS:
        present = [k for k in keys if k in data]
        for i, key in enumerate(present):
            rows.append((section if i == 0 else "", key, format_value(data[key])))
    return rows


def format_value(value: object) -> str:
    """Nested dicts as indented lines, floats to 6 significant digits, None as '-'."""
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            text = format_value(item)
            nested = isinstance(item, (dict, list)) and item and "\n" in text
            lines.append(f"{key}:\n" + _indent(text) if nested else f"{key}: {text}")
        return "\n".join(lines) or "-"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return "\n".join(format_value(v) for v in value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)


def _triple(values) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
