"""Reproducible builds: what else is installed does not change an INT8 engine.

A "runtime-only environment" is simulated in a subprocess that refuses to import any module
whose distributions are all outside the runtime dependency closure of pyproject.toml (torch,
matplotlib, ... and anything they pulled in). The same INT8 build there and in the full
development environment must give byte-identical graphs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hcd_edge.builders.passes.preprocess import REQUIRED_MODULES, prepare_for_quantization
from hcd_edge.errors import EngineError

ROOT = Path(__file__).resolve().parents[2]

# Replaces the path finder with one that does not see the blocked top-level modules, so they
# are absent exactly as in an environment that lacks them (find_spec -> None, import fails).
BUILD = """
import sys, json
from importlib.machinery import PathFinder
blocked = set(json.loads(sys.argv[1]))
class RuntimeOnly(PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            return None
        return PathFinder.find_spec(name, path, target)
sys.meta_path[:] = [RuntimeOnly if f is PathFinder else f for f in sys.meta_path]
for name in [m for m in sys.modules if m.split(".")[0] in blocked]:
    del sys.modules[name]
from hcd_edge.cli import main
main(sys.argv[2:])
"""


def runtime_closure() -> set[str]:
    """Canonical names of pyproject's runtime dependencies and everything they require."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        for extra in req.extras:
            seen.add(f"{name}[{extra}]")
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            sub = Requirement(text)
            wanted = sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in ("", *req.extras))
            if wanted:
                todo.append(Requirement(str(sub).split(";")[0]))
    return seen


def modules_outside(closure: set[str]) -> list[str]:
    """Top-level modules every one of whose distributions lies outside the closure."""
    owners = metadata.packages_distributions()
    return sorted(m for m, dists in owners.items()
                  if not any(canonicalize_name(d) in closure for d in dists) and m != "hcd_edge")


def build(tmp_path: Path, name: str, patches, blocked: list[str]) -> Path:
    out = tmp_path / name
    args = ["build-engine", str(patches.model), "--precision", "int8", "--backend", "onnxruntime",
            "--calib", str(patches.root), "--calib-n", "32", "--activation-form", "uint8",
            "--threads", "1", "--out", str(out)]
    done = subprocess.run([sys.executable, "-c", BUILD, json.dumps(blocked), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_every_module_a_build_requires_is_a_runtime_dependency():
    closure = runtime_closure()
    owners = metadata.packages_distributions()
    for module in REQUIRED_MODULES:
        assert any(canonicalize_name(d) in closure for d in owners.get(module, [module])), module


def test_a_build_without_a_required_module_refuses_naming_it(tmp_path, monkeypatch, patches):
    monkeypatch.setitem(sys.modules, "sympy", None)  # import sympy now raises ImportError
    with pytest.raises(EngineError, match=r"needs sympy .*pip install sympy"):
        prepare_for_quantization(patches.model, tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.slow
def test_int8_build_is_the_same_in_a_runtime_only_environment(tmp_path, patches):
    blocked = modules_outside(runtime_closure())
    assert "torch" in blocked or "torch" not in metadata.packages_distributions()
    runtime = build(tmp_path, "runtime", patches, blocked)
    full = build(tmp_path, "full", patches, [])
    m_runtime = json.loads((runtime / "manifest.json").read_text())
    m_full = json.loads((full / "manifest.json").read_text())
    assert m_runtime["quantization"] == m_full["quantization"]
    assert m_runtime["engine_sha256"] == m_full["engine_sha256"]
