"""An engine folder opened once: manifest read, engine file verified, backend resolved; and the
Executor opened from it. Callers pass the EngineFolder on instead of re-reading the folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hcd_edge.backends.base import Backend, Executor, OpenRequest
from hcd_edge.backends.registry import get_backend
from hcd_edge.errors import EngineError
from hcd_edge.manifest import Manifest, read_manifest, verify_engine_file

PORTABLE_RUNNER = "onnxruntime"  # a portable precision ONNX is checked with ONNX Runtime


@dataclass(frozen=True)
class EngineFolder:
    """A verified engine folder: its manifest, its engine file and the backend that runs it."""

    path: Path
    manifest: Manifest
    engine_path: Path
    backend: Backend

    @classmethod
    def open(cls, path: Path) -> EngineFolder:
        """Read and verify the folder (manifest, SHA-256 of the engine file, known backend)."""
        path = Path(path)
        manifest = read_manifest(path)
        engine_path = verify_engine_file(path, manifest)
        backend = get_backend(manifest.backend)
        return cls(path=path, manifest=manifest, engine_path=engine_path, backend=backend)

    @property
    def portable(self) -> bool:
        """True for a `--stage onnx` folder: a precision ONNX awaiting its backend's device."""
        return self.manifest.stage == "onnx"

    def executor(self, *, threads: int | None = None, allow_portable: bool = False) -> Executor:
        """The Executor of this engine; EngineError / EngineMismatchError saying what to rebuild.

        A portable folder opens with ONNX Runtime only when allow_portable is set (parity
        checks, benchmarks).
        """
        request = OpenRequest(self.manifest, self.engine_path, threads)
        if self.portable:
            if not allow_portable:
                raise EngineError(
                    f"{self.path} holds a portable precision ONNX, not an engine; on the device run "
                    f"`hcd-edge build-engine {self.engine_path} --backend {self.manifest.backend}`"
                )
            return get_backend(PORTABLE_RUNNER).open(request)
        self.backend.check(self.manifest, self.path)
        return self.backend.open(request)


def open_executor(
    engine: Path | EngineFolder,
    *,
    threads: int | None = None,
    allow_portable: bool = False,
) -> Executor:
    """The Executor of an engine folder (a path, or an EngineFolder already opened)."""
    folder = engine if isinstance(engine, EngineFolder) else EngineFolder.open(Path(engine))
    return folder.executor(threads=threads, allow_portable=allow_portable)
