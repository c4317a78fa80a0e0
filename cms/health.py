"""`/healthz`: what a load balancer or monitor asks to learn whether this process can serve."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from cms.access import public
from cms.celery import app

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
    """Report database and broker status.

    Only a database failure makes this 503: without the database no page can be served, while
    a broker outage only delays emails and background jobs, and taking every web process out of
    the load balancer for it would turn a delay into a full outage.
    """
    database = database_status()
    broker = broker_status()
    if database != "ok":
        status = "error"
    elif broker == "error":
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse(
        {"status": status, "database": database, "broker": broker},
        status=503 if database != "ok" else 200,
    )
