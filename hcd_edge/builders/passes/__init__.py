"""Precision passes applied to the ONNX before a backend compiles it: preprocessing, FP16, INT8 Q/DQ."""
