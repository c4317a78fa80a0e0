"""The Celery app: `celery -A cms worker` and `celery -A cms beat` (one beat: RedBeat's lock).

What this module adds for operators (read by /healthz and /metrics):

- the worker's heartbeat: a thread in each worker's main process writes a timestamp every
  HEARTBEAT_EVERY seconds, with a TTL, under `cms:jobs:worker:<hostname>`;
- beat's last tick: the beat process writes a timestamp each time it sends a task (the
  `cms-heartbeat` schedule makes that at least every 30 seconds), and the worker that runs
  that `cms.celery.heartbeat` task records when it did;
- task counters (run, failed, retried per task name) in one Redis hash;
- the request id of the web request that queued a task travels in the message's headers and
  is on every log line the task writes (with LOG_FORMAT=json, as JSON).

All of it lives in the broker's Redis when the broker is Redis (it is what workers and beat
already share), else in the default cache.
"""

import logging
import os
import threading
import time

from celery import Celery, signals

from cms.observability import current_request_id, new_request_id, request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.dev")

app = Celery("cms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

PREFIX = "cms:jobs:"
WORKER_KEY = PREFIX + "worker:"
BEAT_KEY = PREFIX + "beat:last-tick"
LAST_TASK_KEY = PREFIX + "worker:last-heartbeat-task"
TASKS_KEY = PREFIX + "tasks"
HEARTBEAT_EVERY = 15
_state = {"beat": False, "redis": None, "redis_url": None, "stop": None}


# -- where the shared state lives ---------------------------------------------------------------


def jobs_redis():
    """A Redis client on the broker, or None when the broker is not Redis (or not set)."""
    from django.conf import settings

    url = settings.CELERY_BROKER_URL or ""
    if settings.CELERY_TASK_ALWAYS_EAGER or not url.startswith(("redis://", "rediss://")):
        return None
    if _state["redis_url"] != url:
        import redis

        _state["redis"] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        _state["redis_url"] = url
    return _state["redis"]


def record_time(key, ttl=None):
    """Store "now" under key, in Redis (the broker) or else the default cache."""
    now = time.time()
    client = jobs_redis()
    if client is not None:
        client.set(key, repr(now), ex=ttl)
    else:
        from django.core.cache import cache

        cache.set(key, now, ttl)


def read_time(key):
    client = jobs_redis()
    if client is not None:
        value = client.get(key)
        return float(value) if value is not None else None
    from django.core.cache import cache

    return cache.get(key)


def worker_heartbeats():
    """{hostname: seconds since its last heartbeat} of the workers that are alive or just died."""
    now = time.time()
    client = jobs_redis()
    if client is None:
        from django.core.cache import cache

        stamp = cache.get(WORKER_KEY + "local")
        return {} if stamp is None else {"local": now - stamp}
    beats = {}
    for key in client.scan_iter(match=WORKER_KEY + "*@*", count=100):
        value = client.get(key)
        if value is not None:
            beats[key.decode()[len(WORKER_KEY) :]] = now - float(value)
    return beats


def queue_depth():
    """Messages waiting in the default queue (Redis LLEN), or None when not measurable."""
    client = jobs_redis()
    if client is None:
        return None
    return int(client.llen(app.conf.task_default_queue or "celery"))


def task_counts():
    """{(task name, outcome): count} since Redis started keeping them."""
    client = jobs_redis()
    if client is None:
        return {}
    counts = {}
    for field, value in client.hgetall(TASKS_KEY).items():
        task, _, outcome = field.decode().rpartition("|")
        counts[(task, outcome)] = int(value)
    return counts


def _count_task(sender, outcome):
    client = jobs_redis()
    if client is None:
        return
    name = getattr(sender, "name", None) or str(sender)
    try:
        client.hincrby(TASKS_KEY, f"{name}|{outcome}", 1)
    except Exception:
        logger.warning("Could not count task %s %s", name, outcome, exc_info=True)


# -- the heartbeat task beat sends ------------------------------------------------------------


@app.task(name="cms.celery.heartbeat", ignore_result=True, acks_late=False)
def heartbeat():
    """Beat sends this every 30 seconds; the worker running it proves the queue is consumed."""
    record_time(LAST_TASK_KEY)


# -- signals --------------------------------------------------------------------------------


@signals.worker_ready.connect
def _start_heartbeat(sender=None, **kwargs):
    hostname = getattr(sender, "hostname", None) or "worker@unknown"
    stop = threading.Event()
    _state["stop"] = stop

    def beat():
        while not stop.is_set():
            try:
                key = WORKER_KEY + (hostname if jobs_redis() is not None else "local")
                record_time(key, ttl=HEARTBEAT_EVERY * 8)
            except Exception:
                logger.warning("Worker heartbeat could not be written", exc_info=True)
            stop.wait(HEARTBEAT_EVERY)

    threading.Thread(target=beat, name="cms-heartbeat", daemon=True).start()


@signals.worker_shutdown.connect
def _stop_heartbeat(sender=None, **kwargs):
    if _state["stop"] is not None:
        _state["stop"].set()


@signals.beat_init.connect
def _mark_beat(sender=None, **kwargs):
    _state["beat"] = True


@signals.before_task_publish.connect
def _pass_request_id(sender=None, headers=None, **kwargs):
    request_id = current_request_id()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id
    if _state["beat"]:
        try:
            record_time(BEAT_KEY)
        except Exception:
            logger.warning("Beat's tick could not be recorded", exc_info=True)


@signals.task_prerun.connect
def _adopt_request_id(task=None, **kwargs):
    """A worker's task logs under the id of the request that queued it (or a new one).

    Not reset after the task: Celery writes its "succeeded" / "raised" line after
    task_postrun, and that line should carry the task's id too; the next task sets its own.
    An eager task (no broker) runs inside the request and keeps the request's id.
    """
    if task is None:
        return
    if task.request.is_eager:
        if request_id_var.get() is None:
            request_id_var.set(new_request_id())
    else:
        request_id_var.set(getattr(task.request, "request_id", None) or new_request_id())
    _count_task(task, "run")


@signals.task_failure.connect
def _count_failure(sender=None, **kwargs):
    _count_task(sender, "failed")


@signals.task_retry.connect
def _count_retry(sender=None, **kwargs):
    _count_task(sender, "retried")
