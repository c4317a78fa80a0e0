"""`/healthz`: what a load balancer or monitor asks to learn whether this site can serve.

Always JSON, whatever the Host header (HealthCheckMiddleware answers before anything checks
ALLOWED_HOSTS; every other path is still held to it) and whatever is down:

- 503 `"error"` when the database does not answer: no page can be served without it;
- 200 `"degraded"` when the cache, the broker, the worker or beat is down, or a backlog (the
  outbox, unprocessed webhooks) has an item older than HEALTH_BACKLOG_STALE_SECONDS, or outbox
  rows failed for good: the site serves, jobs are late. Taking every web process out of the
  load balancer for that would turn a delay into an outage;
- 200 `"ok"` otherwise.

Each part is reported beside the status, e.g.
`{"status": "degraded", "database": "ok", "cache": "ok", "broker": "ok",
"worker": {"status": "down", "heartbeat_age": null, ...}, "beat": {...}, "queue": {"depth": 152},
"outbox": {...}, "webhooks": {...}}`.
"""

import logging

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponseNotAllowed, JsonResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from cms import celery as jobs
from cms.access import public
from cms.celery import app
from cms.models import OutboxMessage, OutboxStatus
from cms.outbox import failure_counts

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


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


def cache_status():
    """'ok' when the shared cache answers, 'local' for a per-process cache, else 'error'."""
    ping = getattr(cache, "ping", None)
    if ping is None:
        return "local"
    if ping():
        return "ok"
    logger.warning("Health check: the shared cache is unreachable")
    return "error"


def broker_status():
    """'eager' when tasks run in-process, 'ok' when the broker accepts a connection."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL:
        return "eager"
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as error:
        # A warning, not a traceback: a load balancer asks every few seconds.
        logger.warning("Health check: the Celery broker is unreachable (%s)", error)
        return "error"
    return "ok"


def _age(seconds):
    return None if seconds is None else round(seconds, 1)


def worker_status():
    """The freshest worker heartbeat; "down" when none is newer than the stale limit."""
    beats = jobs.worker_heartbeats()
    limit = settings.HEALTH_WORKER_STALE_SECONDS
    alive = sorted(host for host, age in beats.items() if age <= limit)
    freshest = min(beats.values()) if beats else None
    return {
        "status": "ok" if alive else "down",
        "heartbeat_age": _age(freshest),
        "workers": alive,
        "last_heartbeat_task_age": _age(_since(jobs.read_time(jobs.LAST_TASK_KEY))),
    }


def beat_status():
    age = _since(jobs.read_time(jobs.BEAT_KEY))
    ok = age is not None and age <= settings.HEALTH_BEAT_STALE_SECONDS
    return {"status": "ok" if ok else "down", "last_tick_age": _age(age)}


def _since(timestamp):
    return None if timestamp is None else max(0.0, timezone.now().timestamp() - timestamp)


def jobs_status(broker):
    """Worker, beat and queue, when there is a broker to have them."""
    if broker == "eager":
        return {"worker": {"status": "eager"}, "beat": {"status": "eager"}}
    if broker == "error":
        return {"worker": {"status": "unknown"}, "beat": {"status": "unknown"}}
    try:
        return {
            "worker": worker_status(),
            "beat": beat_status(),
            "queue": {"depth": jobs.queue_depth()},
        }
    except Exception:
        logger.exception("Health check: worker and beat state could not be read")
        return {"worker": {"status": "unknown"}, "beat": {"status": "unknown"}}


def outbox_backlog():
    """Pending count, oldest pending age, failed and overdue counts of the outbox (or None)."""
    try:
        pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING)
        oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
        report = {
            "pending": pending.count(),
            "oldest_pending_age": _age(_seconds_since(oldest)),
            **failure_counts(),
        }
    except Exception:
        logger.exception("Health check: the outbox could not be counted")
        return None
    return report


def backlogs():
    """{name: {"pending": n, "oldest_pending_age": s}} for each of HEALTH_BACKLOGS."""
    reports = {}
    for name, (label, done_field, since_field) in settings.HEALTH_BACKLOGS.items():
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        try:
            pending = model._default_manager.filter(**{f"{done_field}__isnull": True})
            oldest = pending.order_by(since_field).values_list(since_field, flat=True).first()
            reports[name] = {
                "pending": pending.count(),
                "oldest_pending_age": _age(_seconds_since(oldest)),
            }
        except Exception:
            logger.exception("Health check: the %s backlog could not be read", name)
            reports[name] = None
    return reports


def _seconds_since(moment):
    return None if moment is None else max(0.0, (timezone.now() - moment).total_seconds())


def _stale(backlog):
    age = (backlog or {}).get("oldest_pending_age")
    return age is not None and age > settings.HEALTH_BACKLOG_STALE_SECONDS


def report():
    """(the JSON body, the status code)."""
    database = database_status()
    body = {"status": "ok", "database": database, "cache": cache_status()}
    broker = broker_status()
    body["broker"] = broker
    if database != "ok":
        body["status"] = "error"
        return body, 503
    body.update(jobs_status(broker))
    outbox = outbox_backlog()
    if outbox is not None:
        body["outbox"] = outbox
    body.update(backlogs())
    problems = [
        body["cache"] == "error",
        broker == "error",
        body["worker"]["status"] in ("down", "unknown"),
        body["beat"]["status"] in ("down", "unknown"),
        outbox is not None and (outbox["failed"] or outbox["overdue"] or _stale(outbox)),
        any(_stale(body.get(name)) for name in settings.HEALTH_BACKLOGS),
    ]
    if any(problems):
        body["status"] = "degraded"
    return body, 200


def _respond(request):
    body, status = report()
    response = JsonResponse(body, status=status)
    add_never_cache_headers(response)
    return response


@public
@never_cache
@require_safe
def healthz(request):
    """The same answer as the middleware gives (this route is what `reverse` finds)."""
    return _respond(request)


class HealthCheckMiddleware:
    """Answer /healthz before anything reads the Host header.

    A load balancer often sends its own IP as Host; CommonMiddleware would refuse it with a
    400 (DisallowedHost). Only this exact path is answered here: every other request goes on
    to the rest of the stack and ALLOWED_HOSTS as before.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != HEALTH_PATH:
            return self.get_response(request)
        request.metrics_view = "healthz"
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return _respond(request)
