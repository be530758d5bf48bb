"""The slide extra's modules: a missing package or shared library is one clear message."""

from __future__ import annotations

import pytest

from hcd_edge.errors import SlideUnavailable
from hcd_edge.slide import deps


@pytest.mark.parametrize("error", [ModuleNotFoundError("No module named 'openslide'"),
                                   OSError("libopenslide.so.1: cannot open shared object file")])
def test_missing_openslide_names_the_extra(monkeypatch, error):
    def failing(name):
        raise error

    monkeypatch.setattr(deps.importlib, "import_module", failing)
    with pytest.raises(SlideUnavailable, match=r"pip install 'hcd-edge\[slide\]'") as info:
        deps.require("openslide")
    assert "openslide" in str(info.value) and str(error) in str(info.value)
