"""Prometheus metrics at `GET /metrics`, behind a token.

`Authorization: Bearer <METRICS_TOKEN>`: the route answers 404 while METRICS_TOKEN is unset
(nothing to find), 403 with a missing or wrong token.

Several gunicorn workers: the request counters and latency histograms are per process, so
gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at an empty folder before the workers start;
prometheus-client then keeps each process's values in files there and this view adds them up
(a worker's files are marked dead when it exits). Without the variable (runserver, tests) the
process's own registry is served.

Everything about jobs is computed when scraped, from the shared state, so it is the same
whichever web process answers: tasks run / failed / retried (counters the Celery workers keep
in Redis, cms/celery.py), queue depth (LLEN of the broker's queue), outbox lag (age of the
oldest pending row) and webhooks pending (count and age, HEALTH_BACKLOGS).
"""

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cms import celery as jobs
from cms import health
from cms.access import secret_link


class JobsCollector:
    """Metrics read from Redis and the database at scrape time (the same in every process)."""

    def collect(self):
        tasks = CounterMetricFamily(
            "cms_celery_tasks",
            "Celery tasks by outcome (run, failed, retried)",
            labels=["task", "outcome"],
        )
        for (task, outcome), count in sorted(jobs.task_counts().items()):
            tasks.add_metric([task, outcome], count)
        yield tasks

        depth = jobs.queue_depth()
        queue = GaugeMetricFamily("cms_celery_queue_depth", "Messages waiting in the queue")
        if depth is not None:
            queue.add_metric([], depth)
        yield queue

        outbox = health.outbox_backlog()
        lag = GaugeMetricFamily(
            "cms_outbox_lag_seconds", "Age of the oldest pending outbox message (0 when none)"
        )
        pending = GaugeMetricFamily("cms_outbox_pending", "Outbox messages waiting to be sent")
        if outbox is not None:
            lag.add_metric([], outbox["oldest_pending_age"] or 0)
            pending.add_metric([], outbox["pending"])
        yield lag
        yield pending

        webhooks = GaugeMetricFamily(
            "cms_backlog_pending",
            "Unprocessed items by backlog (e.g. webhooks)",
            labels=["backlog"],
        )
        ages = GaugeMetricFamily(
            "cms_backlog_oldest_seconds", "Age of the oldest unprocessed item", labels=["backlog"]
        )
        for name, backlog in health.backlogs().items():
            if backlog is None:
                continue
            webhooks.add_metric([name], backlog["pending"])
            ages.add_metric([name], backlog["oldest_pending_age"] or 0)
        yield webhooks
        yield ages


def render_metrics():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        process_part = generate_latest(registry)
    else:
        process_part = generate_latest(REGISTRY)
    jobs_registry = CollectorRegistry()
    jobs_registry.register(JobsCollector())
    return process_part + generate_latest(jobs_registry)


def _token_matches(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())


@secret_link
@never_cache
@require_safe
def metrics_view(request):
    """Prometheus text format for a scraper holding METRICS_TOKEN."""
    if not settings.METRICS_TOKEN:
        raise Http404
    if not _token_matches(request):
        return HttpResponseForbidden("Wrong or missing metrics token.\n", content_type="text/plain")
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
