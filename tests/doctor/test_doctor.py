"""`hcd-edge doctor`: every step reported, GPU steps skipped with the reason on a CPU machine,
the first broken step of the GPU path named, and the exit code 0 / 1."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hcd_edge import doctor
from hcd_edge.backends.tensorrt import cuda_mem
from hcd_edge.cli import main
from hcd_edge.doctor import Check, DoctorOptions, Status, run_doctor
from tests.backends.fake_gpu import FakeCuda

PROBES = ("python", "packages", "native decoder", "onnxruntime", "openvino", "gpu driver",
          "cuda", "tensorrt", "pinned memory")


@pytest.fixture
def cpu_only(monkeypatch, tmp_path):
    """This machine as a CPU-only one, whatever it really is."""
    monkeypatch.setattr(doctor, "NVIDIA_DRIVER_VERSION", tmp_path / "no-driver")
    monkeypatch.setattr(doctor, "NVIDIA_CONTROL_DEVICE", tmp_path / "no-nvidiactl")
    monkeypatch.setattr("hcd_edge.device_info.TEGRA_RELEASE", tmp_path / "no-tegra")
    monkeypatch.setattr(doctor.check_gpu_driver, "__defaults__", (tmp_path / "no-driver",))


def test_on_a_cpu_machine_the_cpu_backend_is_smoke_tested_and_the_gpu_skipped(cpu_only, tmp_path):
    report = run_doctor(DoctorOptions(patches=32, work=tmp_path / "work"))
    steps = {c.step: c for c in report.checks}
    assert [c.step for c in report.checks][: len(PROBES)] == list(PROBES)
    assert report.exit_code == 0, [c.to_dict() for c in report.failed]
    assert steps["gpu driver"].status is Status.SKIPPED and "CPU only" in steps["gpu driver"].detail
    for step in ("cuda", "tensorrt", "pinned memory", "smoke tensorrt fp32", "smoke tensorrt int8"):
        assert steps[step].status is Status.SKIPPED and "gpu driver" in steps[step].detail
    for precision in ("fp32", "int8"):
        smoke = steps[f"smoke onnxruntime {precision}"]
        assert smoke.status is Status.OK and smoke.data["n"] == 32
        assert smoke.data["patches_per_second"] > 0 and 0 <= smoke.data["agreement"] <= 1
    assert steps["smoke onnxruntime fp32"].data["max_abs_dprob"] <= 0.001
    assert steps["smoke onnxruntime int8"].data["max_abs_dprob"] <= 0.15
    assert (tmp_path / "work" / "engines" / "onnxruntime-int8" / "manifest.json").is_file()


def test_the_gpu_path_stops_at_its_first_broken_step(monkeypatch):
    monkeypatch.setattr(doctor, "check_gpu_driver", lambda: Check("gpu driver", Status.OK, "550.54"))
    monkeypatch.setattr(doctor, "check_cuda", lambda: Check(
        "cuda", Status.FAILED, "pycuda is not installed", fix="pip install pycuda"))
    report = run_doctor(DoctorOptions(smoke=False))
    steps = {c.step: c for c in report.checks}
    assert report.exit_code == 1 and [c.step for c in report.failed] == ["cuda"]
    assert steps["tensorrt"].status is Status.SKIPPED and "cuda step" in steps["tensorrt"].detail
    assert "cuda step, which was failed" in steps["pinned memory"].detail


def test_a_probe_that_crashes_is_a_failed_step_not_a_crash(monkeypatch):
    def broken():
        raise OSError("driver hung")

    monkeypatch.setattr(doctor, "check_onnxruntime", broken)
    report = run_doctor(DoctorOptions(smoke=False))
    onnxruntime = report.step("onnxruntime")
    assert onnxruntime.status is Status.FAILED and "OSError: driver hung" in onnxruntime.detail
    assert report.exit_code == 1 and onnxruntime.fix


def test_a_failed_build_names_the_smoke_sub_step(cpu_only, monkeypatch, tmp_path):
    from hcd_edge import builders
    from hcd_edge.errors import EngineError

    def refuse(request, progress=None):
        raise EngineError("no room left on the device")

    monkeypatch.setattr(builders, "build_engine", refuse)
    report = run_doctor(DoctorOptions(patches=32, work=tmp_path))
    failed = [c.step for c in report.failed]
    cpu_backends = ["onnxruntime"] + (["openvino"] if report.step("openvino").status.value == "ok" else [])
    assert failed == [f"smoke {b} {p} (build)" for b in cpu_backends for p in ("fp32", "int8")]
    assert "--backend onnxruntime --precision fp32" in report.failed[0].fix


def test_pinned_memory_round_trip_on_the_fake_gpu(monkeypatch):
    fake = FakeCuda()
    monkeypatch.setattr(cuda_mem, "cuda", fake)
    check = doctor.check_pinned_memory(patches=4)
    assert check.status is Status.OK and "round trip intact" in check.detail
    assert not fake.memory and not fake.pinned and fake.released and fake.context_depth == 0


def test_tensorrt_stubs_alone_or_tensorrt_8_fail_the_tensorrt_step(monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "tensorrt", types.ModuleType("tensorrt"))
    assert "only type stubs" in doctor.check_tensorrt().detail
    old = types.ModuleType("tensorrt")
    old.__version__, old.Builder = "8.6.1", object
    monkeypatch.setitem(sys.modules, "tensorrt", old)
    check = doctor.check_tensorrt()
    assert check.status is Status.FAILED and "older than 10.0" in check.detail
    assert "hcd-edge[gpu]" in check.fix


def test_an_unsatisfied_requirement_fails_the_packages_step(monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "requires",
                        lambda name: ["numpy>=999", "no-such-package-hcd>=1",
                                      "torch>=2.3; extra == 'train'"])
    check = doctor.check_packages()
    assert check.status is Status.FAILED
    assert "numpy" in check.detail and "no-such-package-hcd is missing" in check.detail
    assert "torch" not in check.detail


def test_a_container_showing_only_nvidiactl_has_a_driver(cpu_only, monkeypatch, tmp_path):
    control = tmp_path / "nvidiactl"
    control.touch()
    monkeypatch.setattr(doctor, "NVIDIA_CONTROL_DEVICE", control)
    check = doctor.check_gpu_driver(tmp_path / "no-driver")
    assert check.status is Status.OK and "driver version not visible" in check.detail


def test_a_jetson_is_recognised_by_its_l4t_release(monkeypatch, tmp_path):
    from hcd_edge import device_info

    release = tmp_path / "nv_tegra_release"
    release.write_text("# R36 (release), REVISION: 4.0, GCID: 1, BOARD: generic, EABI: aarch64\n")
    monkeypatch.setattr(device_info, "TEGRA_RELEASE", release)
    check = doctor.check_gpu_driver(tmp_path / "no-driver")
    assert check.status is Status.OK and "JetPack 6 (L4T R36.4.0)" in check.detail


def test_cli_json_report_and_exit_code(cpu_only):
    result = CliRunner().invoke(main, ["doctor", "--json", "--no-smoke"])
    report = json.loads(result.output)
    assert result.exit_code == report["exit_code"] == 0
    assert [c["step"] for c in report["checks"]] == list(PROBES)
    assert report["checks"][5]["status"] == "skipped"


def test_cli_table_names_the_failing_step_and_exits_1(monkeypatch):
    monkeypatch.setattr(doctor, "check_native_decoder", lambda: Check(
        "native decoder", Status.FAILED, "not built", fix="pip install -e ."))
    result = CliRunner().invoke(main, ["doctor", "--no-smoke"])
    assert result.exit_code == 1
    assert "FAILED at step 'native decoder'" in result.output and "pip install -e ." in result.output


def test_cli_help_lists_the_steps_and_exit_codes():
    result = CliRunner().invoke(main, ["doctor", "--help"])
    assert result.exit_code == 0 and "pinned memory" in result.output and "Exit 0" in result.output


def test_smoke_limits_let_near_threshold_flips_pass_and_large_changes_fail():
    import numpy as np

    from hcd_edge.builders.parity import evaluate
    from hcd_edge.spec import Precision

    reference = np.linspace(0.3, 0.5, 64)  # generated patches: scored around the threshold 0.4
    nudged = reference + 0.02  # a sound INT8 engine: small changes, a few labels flip
    broken = np.clip(reference + 0.3, 0, 1)  # a broken calibration
    limits = doctor.smoke_limits(Precision.INT8)
    sound = evaluate(reference, nudged, None, 0.4, limits)
    assert sound["disagreements"] > 0 and sound["passed"]
    assert evaluate(reference, broken, None, 0.4, limits)["failures"] == ["max |dprob| 0.3000 > 0.15"]
