# hcd-edge developer entry points. Each target creates .venv when missing and installs what it
# needs; stamps make a second run fast.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
# The torch build pinned for CI and development machines (a CPU box can use any torch >= 2.2).
TORCH_PKGS ?= torch==2.14.1 torchvision==0.29.1
NATIVE_SRC := setup.py pyproject.toml $(wildcard csrc/*.c csrc/*.h csrc/*.pyx csrc/*.pxd)

.PHONY: demo test bench fuzz docs lint clean help

help:
	@echo "make demo   set up .venv and run the end-to-end demo"
	@echo "make test   set up .venv (with torch) and run the test suite"
	@echo "make bench  run the comparative benchmarks (writes benchmarks/REPORT.md)"
	@echo "make fuzz   fuzz the native TIFF decoder for FUZZ_SECONDS (default 60)"
	@echo "make docs   regenerate the CLI reference in README.md"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.stamp-core: $(PY) $(NATIVE_SRC)
	$(PIP) install -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-core
	$(PIP) install $(TORCH_PKGS)
	$(PIP) install -e ".[dev,train,bench,slide,watch]"
	# tensorrt-stubs declares a dependency on tensorrt itself, which cannot install here.
	$(PIP) install --no-deps tensorrt-stubs
	@touch $@

$(VENV)/.stamp-slide: $(VENV)/.stamp-core
	$(PIP) install -e ".[slide]"
	@touch $@

demo: $(VENV)/.stamp-slide
	$(PY) -m hcd_edge.demo

test: $(VENV)/.stamp-dev
	$(PY) -m pytest -q

bench: $(VENV)/.stamp-dev
	$(PY) -m benchmarks.run_all

FUZZ_SECONDS ?= 60
FUZZ_CORPUS ?= fuzz-corpus-work
fuzz: $(VENV)/.stamp-dev
	$(PY) tests/fuzz/seeds.py $(FUZZ_CORPUS)
	$(PY) tests/fuzz/fuzz_decode.py -max_total_time=$(FUZZ_SECONDS) $(FUZZ_CORPUS)

docs: $(VENV)/.stamp-core
	$(PY) -m hcd_edge.cli.reference --write README.md

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check hcd_edge train tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info hcd_edge/*.so
