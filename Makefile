PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(BASE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(BASE)

$(STAMP): $(BASE)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(BASE)
	$(BIN)/mloop demo

test: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2

bench:
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	test .venv-bench/.installed -nt pyproject.toml || \
		(.venv-bench/bin/pip install --quiet --upgrade pip && \
		.venv-bench/bin/pip install --quiet -e ".[compat]" && touch .venv-bench/.installed)
	.venv-bench/bin/python benchmarks/tracking.py $(BENCH_ARGS)
	.venv-bench/bin/python benchmarks/serving.py $(BENCH_ARGS)
	.venv-bench/bin/python benchmarks/drift.py $(BENCH_ARGS)
	.venv-bench/bin/python benchmarks/retraining.py $(BENCH_ARGS)
	.venv-bench/bin/python benchmarks/server.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) mloop-data
