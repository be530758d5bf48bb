"""The backend registry: one list that every backend choice derives from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

import hcd_edge.backends as backends_package
from hcd_edge.backends import registry
from hcd_edge.cli import main
from hcd_edge.errors import EngineError


def _backend_folders() -> list[str]:
    root = Path(backends_package.__file__).parent
    return sorted(p.name for p in root.iterdir() if (p / "__init__.py").is_file())


def test_every_backend_folder_is_registered_under_its_own_name():
    assert sorted(registry.backend_names()) == _backend_folders()
    for name in _backend_folders():
        module = __import__(f"hcd_edge.backends.{name}", fromlist=["BACKEND"])
        assert module.BACKEND.name == name and module.BACKEND in registry.BACKENDS


def test_cli_backend_choices_come_from_the_registry():
    command = main.get_command(click.Context(main), "build-engine")
    option = next(p for p in command.params if p.name == "backend")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == ["auto", *registry.backend_names()]


def test_unknown_backend_names_the_known_ones():
    with pytest.raises(EngineError, match="onnxruntime"):
        registry.get_backend("coreml")


def test_probe_all_answers_for_every_backend_without_raising():
    reasons = registry.probe_all()
    assert set(reasons) == set(registry.backend_names())
    assert reasons["onnxruntime"] is None  # a core dependency


def test_importing_the_registry_loads_no_backend_library():
    code = (
        "import sys; import hcd_edge.backends.registry; "
        "print(sorted(m for m in ('onnxruntime', 'openvino', 'tensorrt', 'pycuda') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
