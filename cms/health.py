"""`/healthz`: what a load balancer or monitor asks to learn whether this process can serve."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from cms.access import public
from cms.celery import app
from cms.outbox import failure_counts

logger = logging.getLogger(__name__)


def database_status():
    """'ok' when a trivial query round-trips, else 'error'."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.exception("Health check: the database is unreachable")
        return "error"
    return "ok"


def broker_status():
    """'eager' when tasks run in-process, 'ok' when the broker accepts a connection."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL:
        return "eager"
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception:
        logger.exception("Health check: the Celery broker is unreachable")
        return "error"
    return "ok"


@public
@never_cache
@require_safe
def healthz(request):
    """Report database and broker status, and outbox messages that are stuck.

    Only a database failure makes this 503: without the database no page can be served, while
    a broker outage only delays emails and background jobs, and taking every web process out of
    the load balancer for it would turn a delay into a full outage. Outbox rows that failed for
    good or are overdue (cms.outbox) make the status "degraded" and are counted under "outbox".
    """
    database = database_status()
    broker = broker_status()
    outbox = outbox_status() if database == "ok" else None
    if database != "ok":
        status = "error"
    elif broker == "error" or outbox:
        status = "degraded"
    else:
        status = "ok"
    report = {"status": status, "database": database, "broker": broker}
    if outbox:
        report["outbox"] = outbox
    return JsonResponse(report, status=503 if database != "ok" else 200)


def outbox_status():
    """{"failed": n, "overdue": n} when either is not zero, else None."""
    try:
        counts = failure_counts()
    except Exception:
        logger.exception("Health check: the outbox could not be counted")
        return None
    return counts if any(counts.values()) else None
