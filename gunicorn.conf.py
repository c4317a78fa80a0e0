"""gunicorn settings: `.venv/bin/gunicorn cms.wsgi:application` reads this file by itself.

- Workers: WEB_CONCURRENCY, default the number of cores (2 on a 2-core host); the Celery
  worker and PostgreSQL need the rest of the machine.
- Access log: one JSON line per request on stdout (journald keeps it), with the request id
  nginx sent (X-Request-ID) and the one the site answered with, so a line in gunicorn's log,
  nginx's log and the site's own JSON log can be matched.
- Metrics: the request counters of every worker process are written to
  PROMETHEUS_MULTIPROC_DIR (emptied when gunicorn starts, a dead worker's files marked dead),
  and /metrics adds them up (cms/metrics.py).
"""

import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 2)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Recycle workers now and then so a slow leak never grows without bound.
max_requests = 2000
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = (
    '{"timestamp": "%(t)s", "logger": "gunicorn.access", "remote": "%({x-real-ip}i)s", '
    '"method": "%(m)s", "path": "%(U)s", "query": "%(q)s", "status": %(s)s, '
    '"bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s", '
    '"referer": "%(f)s", "user_agent": "%(a)s"}'
)

_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(
    Path(tempfile.gettempdir()) / f"cms-prometheus-{os.getpid()}"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    """Start every run with an empty metrics folder (old processes' files would add up)."""
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    Path(_metrics_dir).mkdir(parents=True, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
