# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run test lint bench clean

$(BIN)/tenderx: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/tenderx

# Ingest + extract + summary on the bundled samples, offline, into ./tenderx-out/.
# samples/ holds one deliberately broken PDF, so tenderx exits 1 ("done, some files failed"): accepted here;
# any other non-zero status fails the target.
run: install
	$(BIN)/tenderx run samples/ || test $$? -eq 1

# Lint, then the whole test suite (real PDFs, real ChromaDB, a real local OpenAI-protocol server).
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf .tenderx tenderx-out .pytest_cache
