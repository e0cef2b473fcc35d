# The two commands: `make run` (set up + answer a question on the embedded model) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
QUESTION ?= What notes are in a G7 chord?

.PHONY: setup run test lint bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/music-reasoning ask --grounded "$(QUESTION)"

test: $(STAMP) chromium
	$(PY) -m pytest

# The playground's browser test drives Debian's chromium through Playwright (whose own
# browser download is not used): installed here when missing, as root or with sudo. If
# that fails, the test fails and says so.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "make: installing Debian's chromium for the playground test"; \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
	  || echo "make: could not install chromium; the playground test will fail"; }

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples
	$(VENV)/bin/ruff format --check src tests examples
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/music-reasoning bench

clean:
	rm -rf $(VENV) build dist *.egg-info
