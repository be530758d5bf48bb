"""The engine manifest: what an engine folder holds, what it was built from, and for what device."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hcd_edge.atomic import write_text_atomic
from hcd_edge.errors import EngineError, EngineMismatchError
from hcd_edge.spec import Precision, PreprocessSpec

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class TensorInfo:
    """Name, shape (-1 or a symbol for the dynamic batch) and dtype of one engine input/output."""

    name: str
    shape: list
    dtype: str


@dataclass
class BatchProfile:
    """Dynamic batch range an engine accepts (TensorRT optimization profile; ORT: any)."""

    min: int = 1
    opt: int = 64
    max: int = 256

    def chosen(self, asked: int | None) -> int:
        """Patches per batch for a run: the one asked for, else the batch the engine was tuned for."""
        return asked or self.opt


@dataclass
class Manifest:
    """manifest.json of an engine folder (engines/NAME/)."""

    name: str
    precision: Precision
    backend: str  # "onnxruntime" | "tensorrt"
    backend_version: str
    engine_file: str  # file name inside the engine folder
    engine_sha256: str
    source_onnx: str
    source_onnx_sha256: str
    device: dict  # {"kind": "cpu", ...features} or {"kind": "gpu", "name", "compute_capability", ...}
    batch: BatchProfile
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    preprocess: PreprocessSpec
    threshold: float
    hcd_edge_version: str
    created: str  # ISO 8601 UTC
    stage: str = "engine"  # "engine", or "onnx" for a portable precision ONNX awaiting TensorRT
    quantization: dict | None = None  # Q/DQ form: activation/weight types, symmetric, per-channel
    calibration: dict | None = None  # count, skipped, source, method
    parity: dict | None = None  # gate results against the FP32 reference
    build_options: dict = field(default_factory=dict)  # session options / builder settings
    model: dict = field(default_factory=dict)  # source model's architecture, metrics, provenance
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        """JSON-ready dict, enums and dataclasses flattened."""
        d = asdict(self)
        d["precision"] = self.precision.value
        d["preprocess"] = self.preprocess.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "manifest") -> Manifest:
        """Parse a dict written by to_dict; raises EngineError naming what is wrong."""
        if d.get("schema_version") != SCHEMA_VERSION:
            raise EngineMismatchError(
                f"{source}: manifest schema {d.get('schema_version')!r} is not {SCHEMA_VERSION}; "
                "rebuild the engine with this hcd-edge version (hcd-edge build-engine)"
            )
        try:
            fields = dict(d)
            fields["precision"] = Precision(d["precision"])
            fields["batch"] = BatchProfile(**d["batch"])
            fields["inputs"] = [TensorInfo(**t) for t in d["inputs"]]
            fields["outputs"] = [TensorInfo(**t) for t in d["outputs"]]
            fields["preprocess"] = PreprocessSpec.from_dict(d["preprocess"])
            manifest = cls(**fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineError(f"{source}: malformed manifest: {exc}") from exc
        check_threshold(manifest.threshold, source)
        check_engine_file_name(manifest.engine_file, source)
        return manifest


def check_threshold(value: object, source: str) -> None:
    """EngineError unless a manifest's threshold is a finite number in [0, 1]."""
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise EngineError(f"{source}: threshold {value!r} is not a probability in [0, 1]; "
                          "rebuild the engine, or fix the manifest")


def check_engine_file_name(name: object, source: str) -> None:
    """EngineError unless engine_file names a file directly inside the engine folder."""
    plain = (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
             and "\\" not in name and "\0" not in name)
    if not plain:
        raise EngineError(f"{source}: engine_file {name!r} is not a file name inside the engine "
                          "folder (no folders, '..' or absolute paths); the engine is refused")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write folder/manifest.json atomically (temporary name, then rename)."""
    target = Path(folder) / MANIFEST_NAME
    write_text_atomic(target, json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n")
    return target


def read_manifest(folder: Path) -> Manifest:
    """Read and parse folder/manifest.json; raises EngineError when missing or malformed."""
    path = Path(folder) / MANIFEST_NAME
    if not Path(folder).exists():
        raise EngineError(f"no such engine folder: {folder}{_engines_beside(Path(folder))}")
    if not path.is_file():
        raise EngineError(f"{folder} is not an engine folder: {MANIFEST_NAME} is missing"
                          f"{_engines_beside(Path(folder))}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EngineError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise EngineError(f"{path}: manifest must be a JSON object")
    return Manifest.from_dict(data, source=str(path))


def engine_folders(parent: Path) -> list[Path]:
    """The engine folders (holding manifest.json) directly inside parent, sorted."""
    try:
        return sorted(p for p in Path(parent).iterdir() if (p / MANIFEST_NAME).is_file())
    except OSError:
        return []


def _engines_beside(folder: Path) -> str:
    """'; engine folders in PARENT: a, b' for an error message, or ''."""
    parent = folder.parent if str(folder.parent) else Path(".")
    found = engine_folders(parent) or (engine_folders(folder) if folder.is_dir() else [])
    if not found:
        return ""
    names = ", ".join(str(p) for p in found[:8]) + (", ..." if len(found) > 8 else "")
    return f"; engine folders there: {names}"


def verify_engine_file(folder: Path, manifest: Manifest) -> Path:
    """The engine file's path after checking its SHA-256 against the manifest."""
    check_engine_file_name(manifest.engine_file, str(Path(folder) / MANIFEST_NAME))
    engine = Path(folder) / manifest.engine_file
    if engine.is_symlink() or (engine.exists() and not engine.is_file()):
        raise EngineError(f"{engine} is not a plain file (a link, folder or device); an engine "
                          "file must be a regular file inside its folder: the engine is refused")
    if not engine.is_file():
        raise EngineError(f"{folder}: engine file {manifest.engine_file} is missing")
    actual = sha256_file(engine)
    if actual != manifest.engine_sha256:
        raise EngineMismatchError(
            f"{engine}: SHA-256 {actual[:12]}… does not match the manifest "
            f"({manifest.engine_sha256[:12]}…); the file was changed or damaged — rebuild it "
            f"with hcd-edge build-engine {manifest.source_onnx}"
        )
    return engine
