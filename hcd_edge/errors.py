"""One exception family for the library; the CLI turns each into a clean message and exit 1."""


class HcdEdgeError(Exception):
    """Base of every error hcd-edge raises on purpose; its text names the thing and the fix."""


class DecodeError(HcdEdgeError):
    """A patch could not be decoded (single-file APIs; batch APIs return status codes)."""


class DataError(HcdEdgeError):
    """A dataset, label file or patch list is missing or malformed (names file and line)."""


class ModelError(HcdEdgeError):
    """An ONNX model is missing, invalid, or lacks what hcd-edge needs (e.g. its preprocessing spec)."""


class EngineError(HcdEdgeError):
    """An engine folder is missing, corrupt, or cannot be built."""


class EngineMismatchError(EngineError):
    """An engine was built for another device, backend version or file; it must be rebuilt."""


class ParityGateError(EngineError):
    """A built engine disagrees with the FP32 reference by more than the gate allows."""


class BackendUnavailable(HcdEdgeError):
    """A backend's libraries (TensorRT, pycuda, a GPU) are not present; names the CPU alternative."""


class TrainingUnavailable(HcdEdgeError):
    """Training was asked for but PyTorch is not installed (pip install 'hcd-edge[train]')."""


class SlideError(HcdEdgeError):
    """A whole-slide image cannot be read or scored (names the slide and the fix)."""


class SlideUnavailable(HcdEdgeError):
    """Whole-slide scoring needs the `slide` extra (openslide, shapely, matplotlib) and it is missing."""
