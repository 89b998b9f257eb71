# One command each: `make demo` tries the bot, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Debian packages the tests use, installed by `make test` when missing (apt-get, as
# root or through sudo). libreoffice-calc-nogui: opening XLSX exports headless.
DEBIAN_PACKAGES := libreoffice-calc-nogui

.PHONY: setup system-packages demo demo-reset test lint bench clean

setup: $(STAMP)

# The virtual environment, with the bot and everything its tests need
# (including a real Synapse homeserver). Rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: setup
	$(BIN)/copro demo --dir demo

# The demo keeps its accounts, chats and database in demo/ between runs.
# This deletes them (and only them), so the next `make demo` starts afresh.
demo-reset:
	rm -rf demo

system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "Installing Debian packages:$$missing"; \
		$$sudo apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

test: setup system-packages
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run.py
	$(BIN)/python bench/export.py
	$(BIN)/python bench/discord.py

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache *.egg-info
