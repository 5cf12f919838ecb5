# esscard-bot: `make run` installs what the bot needs and starts it; `make demo` runs it against a
# local fake Telegram (no token needed); `make test` installs the development tools too and runs
# every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: install run chat demo test lint bench images known-misses clean

# The bot and its runtime dependencies only (about 180 MB).
$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

# Also pytest, hypothesis, ruff, mypy, Pillow and the benchmark's BM25 (about 320 MB in all).
$(DEV): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(RUNTIME) $(DEV)

install: $(DEV)

run: $(RUNTIME)
	$(BIN)/esscard-bot run

chat: $(RUNTIME)
	$(BIN)/esscard-bot chat

demo: $(RUNTIME)
	$(BIN)/esscard-bot demo

test: $(DEV)
	$(BIN)/esscard-bot kb check
	$(BIN)/ruff check bot benchmarks tests tools
	$(BIN)/ruff format --check bot benchmarks tests tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(DEV)
	$(BIN)/ruff check bot benchmarks tests tools
	$(BIN)/ruff format --check bot benchmarks tests tools
	$(BIN)/mypy

# The benchmark (benchmarks/, from a checkout only; a full run takes about six minutes).
bench: $(DEV)
	$(BIN)/esscard-bot bench

images: $(DEV)
	$(BIN)/python tools/draw_step_cards.py

# The snapshot of what the matcher misses on tests/data/questions (after a change that moves a miss).
known-misses: $(DEV)
	$(BIN)/python -m tests.question_sets

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
