"""The short inspect view's wording: devices, parity and model lines from manifest fields."""

from __future__ import annotations

from hcd_edge.cli.inspect_view import describe_device, describe_model, describe_parity, format_value


def test_gpu_and_cpu_devices():
    gpu = {"kind": "gpu", "name": "Orin", "compute_capability": "8.7", "driver": "12.6"}
    assert describe_device(gpu) == "gpu Orin (compute capability 8.7, driver 12.6)"
    cpu = {"kind": "cpu", "brand": "EPYC", "arch": "x86_64", "cores": 2,
           "features": ["avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni"]}
    assert describe_device(cpu) == "cpu EPYC (x86_64, 2 cores, avx avx2 fma f16c +2)"


def test_parity_lines():
    assert describe_parity(None) == "not measured"
    assert describe_parity({"skipped": "no validation patches"}) == "not measured (no validation patches)"
    report = {"passed": False, "n": 500, "labelled": True, "auc_reference": 0.9, "auc_engine": 0.89,
              "agreement": 0.985, "val_source": "label list v.csv"}
    assert describe_parity(report) == ("FAILED: n=500, AUC 0.9000 -> 0.8900, agreement 98.50%\n"
                                        "on label list v.csv")
    lowered = {**report, "passed": True, "limits": {"min_agreement": 0.97}}
    assert describe_parity(lowered).startswith("passed: n=500, AUC 0.9000 -> 0.8900, "
                                               "agreement 98.50% (gate >= 97.00%)\n")


def test_model_line_names_the_count_behind_the_auc():
    text = describe_model("hcdnet", {"auc": 0.87541, "n": 1000}, {"split": {"kind": "stratified", "seed": 0}})
    assert text == "hcdnet, validation AUC 0.8754 on 1,000 patches (train's stratified split, seed 0)"
    assert describe_model("cnn", {}, {}) == "cnn, no validation metrics recorded"


def test_format_value_rounds_floats_and_lists():
    assert format_value({"bin": [0.6000000000000001, 0.7000000000000001], "n": None}) == "bin: [0.6, 0.7]\nn: -"
