"""The `slide` extra: its modules are imported lazily, with one clear message when missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from hcd_edge.errors import SlideUnavailable

INSTALL_HINT = "pip install 'hcd-edge[slide]'"
SLIDE_MODULES = ("openslide", "shapely", "matplotlib", "PIL")  # what `hcd-edge slide` uses


def require(module: str) -> ModuleType:
    """Import a module of the slide extra; raises SlideUnavailable naming the install command."""
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as exc:  # OSError: openslide-python found no libopenslide
        raise SlideUnavailable(
            f"whole-slide scoring needs the Python package {module!r}, which cannot be imported "
            f"({exc}); install the slide extra: {INSTALL_HINT}"
        ) from exc


def require_slide_extra() -> None:
    """Check every module of the slide extra at once, before any slide is opened."""
    for module in SLIDE_MODULES:
        require(module)
