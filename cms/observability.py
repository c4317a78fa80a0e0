"""Request ids, JSON log lines and one access line per request.

- Every request gets an id: the `X-Request-ID` header nginx (or the load balancer) sent, when
  it looks like an id, else a new one. It is sent back in the response's `X-Request-ID`,
  written on every log line of the request, and carried to the Celery tasks the request
  queues (a message header, see cms/celery.py), whose log lines carry it too.
- `RequestLogMiddleware` writes one line per request on the `cms.request` logger: method, path,
  view, status, duration_ms, user_id; and counts it for /metrics (cms.metrics).
- `JsonFormatter` writes each record as one JSON object: timestamp, level, logger, message,
  request_id, user_id and any `extra=` fields; exceptions as `exc_info` text.
"""

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from django.utils.functional import SimpleLazyObject, empty
from prometheus_client import Counter, Histogram

request_id_var = contextvars.ContextVar("request_id", default=None)
user_id_var = contextvars.ContextVar("user_id", default=None)

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
# What we accept from outside as an id: no spaces, quotes or control characters in log lines.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_logger = logging.getLogger("cms.request")
logger = logging.getLogger(__name__)

# Request metrics (served by cms.metrics at /metrics). Defined here, where they are counted:
# this module is imported with the Celery app, before Django's apps are ready.
REQUESTS = Counter(
    "cms_http_requests_total", "HTTP requests answered, by view", ["view", "method", "status"]
)
LATENCY = Histogram(
    "cms_http_request_duration_seconds",
    "Time to answer a request, by view",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_request(view, method, status, seconds):
    try:
        REQUESTS.labels(view=view, method=method, status=str(status)).inc()
        LATENCY.labels(view=view).observe(seconds)
    except Exception:  # metrics must never break a response
        logger.exception("Could not record request metrics")


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def new_request_id():
    return uuid.uuid4().hex


def current_request_id():
    return request_id_var.get()


def request_id_from(meta):
    incoming = (meta.get(REQUEST_ID_HEADER) or "").strip()
    return incoming if VALID_REQUEST_ID.match(incoming) else new_request_id()


class RequestContextFilter(logging.Filter):
    """Put the current request id and user id on every record (None outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "user_id"):
            record.user_id = user_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "user_id": getattr(record, "user_id", None) or user_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key in entry or key.startswith("_"):
                continue
            if key == "request":  # Django's request loggers attach the request object
                continue
            entry[key] = value if _plain(value) else repr(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _plain(value):
    return value is None or isinstance(value, str | int | float | bool | list | dict)


def _user_id(request):
    """The signed-in user's id, if this request already looked the user up (no extra query)."""
    user = getattr(request, "user", None)
    while isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            return None
        user = user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


def view_label(request):
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"
    return match.view_name or match._func_path


class RequestLogMiddleware:
    """The request id, one access log line and the request metrics, for every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.META)
        request.request_id = request_id
        token = request_id_var.set(request_id)
        user_token = user_id_var.set(None)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request_id
            return response
        finally:
            duration = time.perf_counter() - started
            view = getattr(request, "metrics_view", None) or view_label(request)
            user_id = _user_id(request)
            user_id_var.set(user_id)
            observe_request(view, request.method, status, duration)
            access_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "view": view,
                    "status": status,
                    "duration_ms": round(duration * 1000, 1),
                    "user_id": user_id,
                },
            )
            user_id_var.reset(user_token)
            request_id_var.reset(token)
