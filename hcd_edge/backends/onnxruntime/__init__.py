"""ONNX Runtime backend: offline-optimized ONNX engines run on the CPU."""
