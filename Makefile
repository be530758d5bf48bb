# hcd-edge developer entry points. Each target creates .venv when missing and installs what it
# needs; stamps make a second run fast.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# The torch build pinned for CI and development machines (a CPU box can use any torch >= 2.3: torch.amp.GradScaler).
TORCH_PKGS ?= torch==2.14.1 torchvision==0.29.1
# PyPI's Linux x86 torch wheels are the CUDA build (about 6 GB with the nvidia-* wheels). Where
# PyTorch's own index is reachable, `make test TORCH_INDEX=https://download.pytorch.org/whl/cpu`
# installs the same version's CPU build (about 200 MB) instead.
TORCH_INDEX ?=
NATIVE_SRC := setup.py pyproject.toml $(wildcard csrc/*.c csrc/*.h csrc/*.pyx csrc/*.pxd)

.PHONY: demo test bench gpu-check fuzz docs lint clean help

help:
	@echo "make demo   set up .venv and run the end-to-end demo"
	@echo "make test   set up .venv (with torch) and run the test suite"
	@echo "make bench  run the comparative benchmarks (writes benchmarks/REPORT.md)"
	@echo "make gpu-check  on a GPU machine: doctor, GPU tests, TensorRT FP32/FP16/INT8 figures (one JSON)"
	@echo "make fuzz   fuzz the native TIFF decoder for FUZZ_SECONDS (default 60), then 50,000 differential mutants"
	@echo "make docs   regenerate the CLI reference in README.md"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.stamp-core: $(PY) $(NATIVE_SRC)
	$(PIP) install -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-core
	$(PIP) install $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH_PKGS)
	$(PIP) install -e ".[dev,train,bench,openvino,ray,slide,watch]"
	# tensorrt-stubs declares a dependency on tensorrt itself, which cannot install here.
	$(PIP) install --no-deps tensorrt-stubs
	@touch $@

# The demo shows whole slides and the watch service: their extras, without torch.
$(VENV)/.stamp-demo: $(VENV)/.stamp-core
	$(PIP) install -e ".[slide,watch]"
	@touch $@

demo: $(VENV)/.stamp-demo
	$(PY) -m hcd_edge.demo

test: $(VENV)/.stamp-dev
	$(PY) -m pytest -q

bench: $(VENV)/.stamp-dev
	$(PY) -m benchmarks.run_all

# On a machine with an NVIDIA GPU: installs the gpu extra (TensorRT, pycuda), then runs
# hcd-edge doctor, pytest -m gpu and the starter's TensorRT engines (AUC, parity, bench) into
# one JSON file. Under 10 minutes on a datacenter GPU.
GPU_CHECK_OUT ?= benchmarks/results/gpu_check.json
gpu-check: $(VENV)/.stamp-dev
	$(PIP) install -e ".[gpu]"
	$(PY) -m benchmarks.gpu_check --out $(GPU_CHECK_OUT)

FUZZ_SECONDS ?= 60
FUZZ_CORPUS ?= fuzz-corpus-work
fuzz: $(VENV)/.stamp-dev
	$(PY) tests/fuzz/seeds.py $(FUZZ_CORPUS)
	$(PY) tests/fuzz/fuzz_decode.py -max_total_time=$(FUZZ_SECONDS) $(FUZZ_CORPUS)
	# native decoder vs tifffile on mutants of the real patches (synthetic ones when absent)
	$(PY) tests/fuzz/differential.py --count 50000 --real

docs: $(VENV)/.stamp-core
	$(PY) -m hcd_edge.cli.reference --write README.md

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check hcd_edge train tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info hcd_edge/*.so
