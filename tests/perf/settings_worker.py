# ruff: noqa: F403, F405
"""Benchmark settings with a real task queue: Redis on loopback, tasks run by a Celery worker.

For the benchmarks that measure what a request does when the work is queued (the webhook
endpoint) and what a worker gets through (the webhook pipeline). A Redis database and a queue
of their own keep them apart from anything else using the same server.
"""

import os

from tests.perf.settings import *

CELERY_BROKER_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY_TASK_ALWAYS_EAGER = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "bench"
