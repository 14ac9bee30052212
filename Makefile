# snapset: `make serve` runs the server on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: serve test unit integration e2e browser check lint format typecheck layers bench \
	reliability scorecard clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/snapset serve

test: $(STAMP)
	$(BIN)/python -m pytest --durations=30 --junitxml=test-artifacts/reliability/junit.xml

# The tiers, each alone: unit needs neither PostgreSQL nor Chromium; integration and e2e
# run on SQLite and PostgreSQL; browser drives Chromium. `make test` runs them all.
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration tests/process

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser

# The reliability suite's fast part (also inside `make test`), then its scorecard.
reliability: $(STAMP)
	$(BIN)/python -m pytest tests/reliability tests/process tests/e2e/test_bad_input.py \
		--junitxml=test-artifacts/reliability/junit.xml; status=$$?; \
		$(BIN)/python -m bench.scorecard; exit $$status

scorecard: $(STAMP)
	$(BIN)/python -m bench.scorecard

check: lint format typecheck layers

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench.snapshots

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
