"""pyproject.toml lists packages explicitly: a new hcd_edge subpackage missing there would be
absent from a `pip install .` (the editable install used in development still finds it)."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_hcd_edge_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "hcd_edge").rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
