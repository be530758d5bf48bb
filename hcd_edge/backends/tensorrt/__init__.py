"""TensorRT backend: serialized plans built and run on NVIDIA GPUs (cuda_mem.py is the only pycuda import)."""
