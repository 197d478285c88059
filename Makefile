# tsunagari — the README's commands. Everything runs from .venv/ in the project root.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test check lint typecheck bench services clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Start on the embedded defaults: SQLite registry seeded with the real data, memory sessions.
run: install
	$(BIN)/tsunagari db upgrade
	$(BIN)/tsunagari seed
	$(BIN)/tsunagari serve

# Make sure Redis and PostgreSQL answer on loopback (start or install them), then the whole
# suite: every database test runs on SQLite and on PostgreSQL.
test: install
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: install
	$(BIN)/ruff check bot routing resources admin tests benchmarks
	$(BIN)/ruff format --check bot routing resources admin tests benchmarks

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

bench: install
	bash scripts/ensure-services.sh
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
