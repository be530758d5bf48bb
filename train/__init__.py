"""PyTorch training for hcd-edge (installed as hcd_edge.train): models, data, loop, ONNX export.

    from hcd_edge.train import TrainConfig, train, export_checkpoint
    result = train(TrainConfig(data=Path("patches/"), out=Path("runs/edge")))
    export_checkpoint(result.best, Path("model.onnx"))

Importing this package imports torch; the hcd_edge runtime never does.
"""

from hcd_edge.train.config import Schedule, TrainConfig
from hcd_edge.train.export import ExportResult, export_checkpoint
from hcd_edge.train.finish import TrainResult
from hcd_edge.train.loop import train
from hcd_edge.train.models import Arch, Block, ModelConfig, Pool

__all__ = [
    "Arch",
    "Block",
    "ExportResult",
    "ModelConfig",
    "Pool",
    "Schedule",
    "TrainConfig",
    "TrainResult",
    "export_checkpoint",
    "train",
]
