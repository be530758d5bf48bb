"""The backends hcd-edge can build for and run, by name: the one list the CLI choices, the `auto`
choice, the default engine, `bench` and the engine loader all derive from.

Adding a backend = one folder under hcd_edge/backends/ whose __init__ defines BACKEND, plus one
entry in BACKENDS below.
"""

from __future__ import annotations

from hcd_edge.backends import onnxruntime, openvino, tensorrt
from hcd_edge.backends.base import Backend
from hcd_edge.errors import BackendUnavailable, EngineError

AUTO = "auto"
# In `auto` preference order: a usable GPU backend first, then the CPU backends (of which a
# build measures the usable ones and keeps the fastest).
BACKENDS: tuple[Backend, ...] = (tensorrt.BACKEND, openvino.BACKEND, onnxruntime.BACKEND)


def backend_names() -> list[str]:
    """The registered backend names, in `auto` preference order."""
    return [b.name for b in BACKENDS]


def backend_choices() -> list[str]:
    """What --backend accepts: auto and every registered name."""
    return [AUTO, *backend_names()]


def get_backend(name: str) -> Backend:
    """The registered backend called `name`; EngineError naming the known ones otherwise."""
    for backend in BACKENDS:
        if backend.name == name:
            return backend
    raise EngineError(f"unknown backend {name!r}; known backends: {', '.join(backend_names())}")


def require_usable(name: str) -> Backend:
    """The backend `name`, when usable here; BackendUnavailable saying why not otherwise."""
    backend = get_backend(name)
    reason = backend.probe()
    if reason is not None:
        raise BackendUnavailable(f"the {backend.title} backend cannot run here: {reason}")
    return backend


def probe_all() -> dict[str, str | None]:
    """Every backend's probe: name -> None when usable here, else why not."""
    return {b.name: b.probe() for b in BACKENDS}


def usable(device_kind: str | None = None) -> list[Backend]:
    """The backends usable here (optionally of one device kind), in preference order."""
    return [b for b in BACKENDS if (device_kind in (None, b.device_kind)) and b.probe() is None]
