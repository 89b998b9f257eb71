# One command each: `make demo` tries the bot, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Debian packages the tests need that pip cannot install, installed by `make test`
# when missing (apt-get, as root or through sudo): a real browser and its driver for
# the dashboard's browser tests; LibreOffice (no GUI) to open XLSX exports headless;
# podman, runc and mmdebstrap to build deploy/Dockerfile and run the bot in it.
DEBIAN_PACKAGES := chromium chromium-driver libreoffice-calc-nogui podman runc mmdebstrap

.PHONY: setup system-packages demo demo-reset test screenshots lint bench clean

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

# Installs whatever of DEBIAN_PACKAGES is missing (as root, or with sudo).
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  echo "Installing Debian packages the tests need:$$missing"; \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

test: setup system-packages
	$(BIN)/pytest

# The README's pictures of the dashboard, taken by its browser tests.
screenshots: setup system-packages
	COPRO_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_web_tour.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every benchmark runs, even after one misses its target; the list of those
# that missed comes last (and the exit status says so).
BENCHES := run export discord dashboard catchup fanout

bench: setup
	@missed=""; for name in $(BENCHES); do \
		echo "== bench/$$name.py"; \
		$(BIN)/python bench/$$name.py || missed="$$missed $$name"; \
	done; \
	if [ -n "$$missed" ]; then echo "Targets missed in:$$missed (see bench/RESULTS.md)"; exit 1; fi

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache *.egg-info
