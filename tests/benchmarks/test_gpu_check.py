"""`make gpu-check` on a CPU machine: the JSON is written, the TensorRT rows say why they are
missing, the ONNX Runtime reference row is measured, and a failing step is named."""

from __future__ import annotations

import json

from benchmarks import gpu_check


def test_on_a_cpu_machine_the_report_names_why_tensorrt_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "real_patches", lambda: None)
    monkeypatch.setattr(gpu_check, "BENCH_BATCHES", (1, 8))
    monkeypatch.setattr("hcd_edge.backends.tensorrt.probe",
                        lambda: "no NVIDIA GPU or CUDA driver is visible")
    out = tmp_path / "gpu_check.json"
    code = gpu_check.main(["--out", str(out), "--skip", "doctor,pytest", "--seconds", "0.05"])
    report = json.loads(out.read_text())
    engines = report["steps"]["engines"]
    assert code == 1 and report["failed_steps"] == ["engines"]
    assert report["steps"]["doctor"] == {"skipped": "--skip"}
    assert engines["tensorrt"] == "not usable here: no NVIDIA GPU or CUDA driver is visible"
    ort = engines["rows"]["onnxruntime-fp32"]
    assert ort["passed"] and [r["batch"] for r in ort["bench"]] == [1, 8]
    assert ort["bench"][0]["throughput"] > 0 and ort["parity"]["agreement"] >= 0.999
    assert "gpu" in report["machine"] and engines["seconds"] >= 0


def test_a_step_that_raises_is_recorded_with_its_error():
    def broken():
        raise RuntimeError("CUDA error: out of memory")

    result = gpu_check._timed(broken)
    assert result["passed"] is False and result["error"] == "RuntimeError: CUDA error: out of memory"
