# One command to run the site, one to test it. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUFF := $(VENV)/bin/ruff
PYTHON_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
STATIC_STAMP := static/dist/.built
# Debian packages: PDF text shaping and fonts for names in any script, video processing,
# PDF text extraction for tests, and the browser the browser tests drive.
SYSTEM_PACKAGES := libharfbuzz-subset0 fonts-noto-core fonts-noto-cjk fonts-dejavu-core ffmpeg poppler-utils chromium
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install system-deps python-deps node-deps static lint bench demo migrate clean

run: install
	DJANGO_SETTINGS_MODULE=cms.settings.dev $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=cms.settings.dev $(PY) manage.py load_demo
	DJANGO_SETTINGS_MODULE=cms.settings.dev $(PY) manage.py runserver $(HOST):$(PORT)

test: install lint
	DJANGO_SETTINGS_MODULE=cms.settings.test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=cms.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=cms.settings.test $(PY) -m pytest $(PYTEST_ARGS)

lint: python-deps
	$(RUFF) format --check .
	$(RUFF) check .

install: system-deps python-deps node-deps static

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = "0" ]; then \
			echo "Installing Debian packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		else \
			echo "Missing Debian packages. Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
			exit 1; \
		fi; \
	fi

python-deps: $(PYTHON_STAMP)

$(PYTHON_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

node-deps: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static: $(STATIC_STAMP)

$(STATIC_STAMP): $(NODE_STAMP) $(shell find frontend -type f 2>/dev/null)
	npm run --silent build
	touch $@

migrate: install
	DJANGO_SETTINGS_MODULE=cms.settings.dev $(PY) manage.py migrate --noinput

demo: migrate
	DJANGO_SETTINGS_MODULE=cms.settings.dev $(PY) manage.py load_demo

bench: install
	DJANGO_SETTINGS_MODULE=cms.settings.test $(PY) -m tests.perf.run_all

# Refresh the pinned versions after changing pyproject.toml.
lock: python-deps
	$(PIP) install -q -e '.[dev]' --upgrade
	$(PIP) freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) node_modules static/dist staticfiles .test-media
