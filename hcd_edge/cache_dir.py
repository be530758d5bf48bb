"""Where hcd-edge keeps per-user caches (TensorRT timing caches): HCD_EDGE_CACHE_DIR overrides."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "HCD_EDGE_CACHE_DIR"


def user_cache_dir() -> Path:
    """$HCD_EDGE_CACHE_DIR, else $XDG_CACHE_HOME/hcd-edge, else ~/.cache/hcd-edge (not created)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hcd-edge"
