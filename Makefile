# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test install lint typecheck hadolint pytest chromium bench bench-banking77 bench-engine evaluate clean

run: $(STAMP)
	$(BIN)/webcare kb import knowledge_base/demo/kestrel_mobile.yaml
	WEBCARE_BRAND_NAME="$${WEBCARE_BRAND_NAME:-Kestrel Mobile}" $(BIN)/webcare serve

test: $(STAMP) lint typecheck hadolint pytest

install: $(STAMP)

# torch is pinned to the CPU build on this machine's disk (installed first, so nothing pulls CUDA).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || (echo "run: $(BIN)/ruff format ." && false)

typecheck: $(STAMP)
	$(BIN)/mypy app bot knowledge_base training bench

hadolint: $(STAMP)
	$(BIN)/hadolint Dockerfile

pytest: $(STAMP) chromium
	$(BIN)/python -m pytest -q

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
chromium:
	@command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

evaluate: $(STAMP)
	$(BIN)/webcare evaluate training/data/demo_heldout.jsonl --kb knowledge_base/demo/kestrel_mobile.yaml

bench: bench-engine bench-banking77

bench-engine: $(STAMP)
	$(BIN)/python -m bench.engine

bench-banking77: $(STAMP)
	$(BIN)/python -m bench.banking77

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
