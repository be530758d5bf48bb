"""The import rules of the architecture, checked on every import statement in hcd_edge/ (module
level and inside functions): a broken rule fails here, not on a user's machine."""

from __future__ import annotations

import ast
from pathlib import Path

import hcd_edge

PACKAGE = Path(hcd_edge.__file__).parent
# The CLI's lazy hooks into the PyTorch training code: the commands that need torch anyway.
TRAIN_HOOKS = (PACKAGE / "cli" / "train.py", PACKAGE / "cli" / "export.py")
CUDA_OWNER = PACKAGE / "backends" / "tensorrt" / "cuda_mem.py"


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _violations(rule) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += [f"{path.relative_to(PACKAGE.parent)}: {name}" for name in _imports(path) if rule(path, name)]
    return found


def _is(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_runtime_imports_no_torch_and_no_training_code_but_through_the_cli_hook():
    assert _violations(
        lambda path, name: path not in TRAIN_HOOKS
        and (_is(name, "torch") or _is(name, "hcd_edge.train"))
    ) == []


def test_only_cuda_mem_imports_pycuda():
    assert _violations(lambda path, name: path != CUDA_OWNER and _is(name, "pycuda")) == []


def test_decode_imports_no_backend_and_nothing_of_scoring_or_building():
    decode = PACKAGE / "decode"
    forbidden = ("hcd_edge.backends", "hcd_edge.builders", "hcd_edge.score", "onnxruntime",
                 "openvino", "tensorrt")
    assert _violations(
        lambda path, name: decode in path.parents and any(_is(name, f) for f in forbidden)
    ) == []


def test_a_backend_folder_imports_no_other_backend_folder():
    root = PACKAGE / "backends"
    folders = [p for p in root.iterdir() if (p / "__init__.py").is_file()]

    def crosses(path: Path, name: str) -> bool:
        own = next((f for f in folders if f in path.parents), None)
        return own is not None and any(
            _is(name, f"hcd_edge.backends.{other.name}") for other in folders if other != own
        )

    assert _violations(crosses) == []


def test_the_rule_checker_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    import torch\n    from pycuda import driver\n")
    assert _imports(sample) == ["torch", "pycuda"]


def test_optional_stacks_are_imported_only_by_the_folder_that_owns_them():
    owners = {
        "ray": PACKAGE / "distributed",
        "openvino": PACKAGE / "backends" / "openvino",
        "tensorrt": PACKAGE / "backends" / "tensorrt",
        "openslide": PACKAGE / "slide",
        "shapely": PACKAGE / "slide",
        "watchdog": PACKAGE / "watch",
    }
    assert _violations(
        lambda path, name: any(_is(name, lib) and owner not in path.parents
                               for lib, owner in owners.items())
    ) == []
