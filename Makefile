# esscard-bot: `make run` installs and starts the bot, `make test` installs and runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run chat test lint bench images clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/esscard-bot run

chat: $(STAMP)
	$(BIN)/esscard-bot chat

test: $(STAMP)
	$(BIN)/esscard-bot kb check
	$(BIN)/ruff check bot tests tools
	$(BIN)/ruff format --check bot tests tools
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot tests tools
	$(BIN)/ruff format --check bot tests tools
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/esscard-bot bench

images: $(STAMP)
	$(BIN)/python tools/draw_step_cards.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
