# One command to run the site, one to test it. Both install what they need first and can be
# run again at any time: each install step is skipped while its inputs are unchanged.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
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
DEV := DJANGO_SETTINGS_MODULE=cms.settings.dev
TEST := DJANGO_SETTINGS_MODULE=cms.settings.test

.PHONY: run test pytest faults install system-deps python-deps node-deps static database lint bench demo migrate lock clean

# Links the site prints (emails, certificate QR codes, the Open Badge, JSON-LD, load_demo's
# hints) use the address it is served on: `make run PORT=8101` prints 8101. SITE_URL wins.
RUN_SITE_URL = $(or $(SITE_URL),http://$(HOST):$(PORT))

run: install
	$(DEV) SITE_URL=$(RUN_SITE_URL) $(PY) manage.py migrate --noinput
	$(DEV) SITE_URL=$(RUN_SITE_URL) $(PY) manage.py load_demo
	$(DEV) SITE_URL=$(RUN_SITE_URL) $(PY) manage.py runserver $(HOST):$(PORT)

test: install lint database
	$(TEST) $(PY) manage.py check
	$(TEST) $(PY) manage.py makemigrations --check --dry-run
	@$(MAKE) --no-print-directory pytest

# pytest exits with 5 when the selection (PYTEST_ARGS, e.g. -m browser) matches no test;
# that is not a failure of the code under test.
pytest:
	status=0; $(TEST) $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest: no test matched '$(PYTEST_ARGS)'"; status=0; fi; \
	exit $$status

# Only the fault-injection suite (tests/faults, marker `faults`); `make test` runs it too.
faults: install database
	@$(MAKE) --no-print-directory pytest PYTEST_ARGS="-m faults $(PYTEST_ARGS)"

lint: python-deps
	$(RUFF) format --check .
	$(RUFF) check .

install: system-deps python-deps node-deps static

# Installs missing Debian packages with apt-get when run as root; otherwise prints the exact
# command and stops (set SKIP_SYSTEM_DEPS=1 to carry on without them). apt-get waits up to ten
# minutes for dpkg's lock when another apt-get (a second make, unattended upgrades) holds it.
system-deps:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if ! command -v $(PYTHON) >/dev/null; then missing="$$missing python3.11 python3.11-venv"; \
	elif [ ! -x $(PY) ] && ! $(PYTHON) -c "import ensurepip, venv" 2>/dev/null; then missing="$$missing python3.11-venv"; fi; \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian packages:$$missing"; \
		apt-get -o DPkg::Lock::Timeout=600 update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $$missing; \
	elif [ -n "$${SKIP_SYSTEM_DEPS:-}" ]; then \
		echo "Warning: missing Debian packages:$$missing (SKIP_SYSTEM_DEPS set, carrying on)"; \
	else \
		echo "Missing Debian packages. Run:"; \
		echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
		echo "then run make again (or set SKIP_SYSTEM_DEPS=1 to carry on without them)."; \
		exit 1; \
	fi

python-deps: $(PYTHON_STAMP)

# The stamp is written only after a complete install, so an interrupted install is redone.
$(PYTHON_STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check --upgrade pip
	$(PIP) install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

node-deps: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static: $(STATIC_STAMP)

$(STATIC_STAMP): $(NODE_STAMP) $(shell find frontend -type f 2>/dev/null)
	npm run --silent build
	touch $@

# With DATABASE_URL pointing at PostgreSQL, create that database when it does not exist yet
# (the test run itself always builds a fresh test_<name> database beside it).
database: python-deps
	$(PY) .ci/ensure_database.py

migrate: install
	$(DEV) $(PY) manage.py migrate --noinput

demo: migrate
	$(DEV) $(PY) manage.py load_demo

# Not part of `make test`: timings depend on the machine.
# Benchmarks run on PostgreSQL (row locks, query plans and concurrency are what they measure):
# DATABASE_URL when it names PostgreSQL, else the local server's fit_bench database, created
# and migrated by the benchmarks themselves. `make bench BENCH=pages` runs one; BENCH_SHORT=1
# makes each a quick proof run.
BENCH_DATABASE_URL ?= $(or $(filter postgres%,$(DATABASE_URL)),postgres://postgres@127.0.0.1:5432/fit_bench)
BENCH ?=

bench: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m tests.perf.run_all $(BENCH)

# The production stack on this machine (PostgreSQL, Redis, moto S3, the fake Stripe, gunicorn,
# a Celery worker and beat from deploy/Procfile), driven end to end in headless Chromium and
# stopped again; prints one JSON line (tests/smoke/prod_smoke.py says what it checks).
.PHONY: prod-smoke backup restore
prod-smoke: install
	$(PY) -m tests.smoke.prod_smoke

# Backups of the site named by the environment (DATABASE_URL, the private files' folder or
# bucket) into BACKUP_DIR/<timestamp>/; `make restore BACKUP=backups/<timestamp>` loads one
# (RESTORE_ARGS="--yes" replaces a database that has tables). See the README.
BACKUP_DIR ?= backups
backup: python-deps
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-cms.settings.production} \
	  $(PY) -m scripts.backup backup --into $(BACKUP_DIR)

restore: python-deps
	@test -n "$(BACKUP)" || { echo "Say which backup: make restore BACKUP=$(BACKUP_DIR)/<timestamp>"; exit 2; }
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-cms.settings.production} \
	  $(PY) -m scripts.backup restore $(BACKUP) $(RESTORE_ARGS)

# Refresh the pinned versions after changing pyproject.toml.
lock: python-deps
	$(PIP) install -q -e '.[dev]' --upgrade
	$(PIP) freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) node_modules static/dist staticfiles .test-media .bench
