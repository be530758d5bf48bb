"""The packaged starter model (starter.onnx) and its model card (STARTER.md)."""
