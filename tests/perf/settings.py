# ruff: noqa: F403, F405
"""Benchmark settings: production-like (DEBUG off, cached templates), plain HTTP on loopback.

The benchmarks run on PostgreSQL: tests/perf/database.py sets DATABASE_URL (the local
server's `fit_bench` database unless DATABASE_URL names another) and refuses SQLite. The
SQLite file below is only for running these settings by hand without a database server.
"""

import os

from cms.settings.base import *

DEBUG = False
SECRET_KEY = "bench-only-secret-key"  # noqa: S105
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "tests.perf.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = None
CELERY_TASK_ALWAYS_EAGER = True
CELERY_RESULT_BACKEND = None
BENCH_DIR = BASE_DIR / ".bench"
MEDIA_ROOT = BENCH_DIR / "media"
STATIC_ROOT = BENCH_DIR / "static"
PRIVATE_MEDIA_ROOT = BENCH_DIR / "private"
STORAGES["private"]["OPTIONS"]["location"] = str(PRIVATE_MEDIA_ROOT)
if not os.environ.get("DATABASE_URL"):
    DATABASES["default"]["NAME"] = str(BENCH_DIR / "bench.sqlite3")
LOGGING["root"]["level"] = "WARNING"
