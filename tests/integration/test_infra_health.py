"""`/healthz` tells a load balancer and an operator what is up: JSON whatever is down.

Parts that need Redis use database 14 on 127.0.0.1:6379 (skipped without Redis); the cache
"down" cases point the cache at a closed port.
"""

import time
from datetime import timedelta

import pytest
import redis
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from cms import celery as jobs
from cms.models import OutboxKind, OutboxMessage, OutboxStatus

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/12"
# Port 1 on loopback is closed: a connection is refused at once.
DEAD_REDIS = "redis://127.0.0.1:1/0"


def redis_available():
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        return False


needs_redis = pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")


@pytest.fixture
def redis_broker(settings):
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = REDIS_URL
    yield client
    client.flushdb()


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "cms.cache_backends.FailOpenRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"LOCAL_FALLBACK_PREFIXES": settings.CACHE_LOCAL_FALLBACK_PREFIXES},
        }
    }
    yield


def worker_and_beat_alive():
    """What a running worker and beat write (cms/celery.py), without starting them."""
    jobs.record_time(jobs.WORKER_KEY + "celery@web1", ttl=120)
    jobs.record_time(jobs.BEAT_KEY)
    jobs.heartbeat.run()


def test_health_without_broker_reports_eager_jobs(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "local",
        "broker": "eager",
        "worker": {"status": "eager"},
        "beat": {"status": "eager"},
        "outbox": {
            "pending": 0,
            "oldest_pending_age": None,
            "failed": 0,
            "overdue": 0,
        },
        "webhooks": {"pending": 0, "oldest_pending_age": None},
    }
    assert "no-cache" in response.headers["Cache-Control"]
    assert response.headers["Content-Type"] == "application/json"


def test_health_is_503_json_when_the_database_is_down(client, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("cms.health.connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "error",
        "cache": "local",
        "broker": "eager",
    }


def test_health_answers_whatever_the_host_header_other_paths_still_refuse_it(client, settings):
    settings.ALLOWED_HOSTS = ["training.example.org"]
    response = client.get("/healthz", HTTP_HOST="10.0.3.7")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    # Any other path with that Host is still refused (DisallowedHost), never served.
    other = Client(raise_request_exception=False)
    refused = other.get("/search/", HTTP_HOST="10.0.3.7")
    assert refused.status_code == 400
    assert "application/json" not in refused.headers["Content-Type"]
    assert "This address can" in refused.content.decode()


@needs_redis
def test_health_is_degraded_with_no_worker_nor_beat_and_shows_the_queue(client, redis_broker):
    redis_broker.lpush("celery", *[f"message {n}" for n in range(152)])
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"] == "ok"
    assert body["worker"] == {
        "status": "down",
        "heartbeat_age": None,
        "workers": [],
        "last_heartbeat_task_age": None,
    }
    assert body["beat"] == {"status": "down", "last_tick_age": None}
    assert body["queue"] == {"depth": 152}


@needs_redis
def test_health_is_ok_with_a_live_worker_and_beat(client, redis_broker):
    worker_and_beat_alive()
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["workers"] == ["celery@web1"]
    assert body["worker"]["heartbeat_age"] < 60
    assert body["worker"]["last_heartbeat_task_age"] < 60
    assert body["beat"]["status"] == "ok"
    assert body["queue"] == {"depth": 0}


@needs_redis
def test_a_stale_worker_heartbeat_or_beat_tick_is_degraded(client, redis_broker, settings):
    worker_and_beat_alive()
    old = time.time() - 600
    redis_broker.set(jobs.WORKER_KEY + "celery@web1", repr(old))
    redis_broker.set(jobs.BEAT_KEY, repr(old))
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["worker"]["status"] == "down"
    assert body["worker"]["heartbeat_age"] >= 600
    assert body["beat"] == {"status": "down", "last_tick_age": pytest.approx(600, abs=30)}


def test_health_reports_an_unreachable_broker_without_failing_the_web(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = DEAD_REDIS
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"] == "error"
    assert body["worker"] == {"status": "unknown"}


def test_health_is_degraded_when_the_cache_is_down(client, dead_cache):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["cache"] == "error"
    assert body["database"] == "ok"


def test_old_pending_outbox_row_and_unprocessed_webhook_are_reported(client, settings):
    from payments.models import WebhookEvent

    long_ago = timezone.now() - timedelta(hours=1)
    row = OutboxMessage.objects.create(
        kind=OutboxKind.TASK, name="cms.outbox.example", next_attempt_at=timezone.now()
    )
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=long_ago)
    WebhookEvent.objects.create(
        stripe_event_id="evt_waiting",
        type="checkout.session.completed",
        payload={},
        received_at=long_ago,
    )
    WebhookEvent.objects.create(
        stripe_event_id="evt_done",
        type="charge.refunded",
        payload={},
        processed_at=timezone.now(),
    )
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["outbox"]["pending"] == 1
    assert body["outbox"]["oldest_pending_age"] == pytest.approx(3600, abs=60)
    assert body["webhooks"] == {"pending": 1, "oldest_pending_age": pytest.approx(3600, abs=60)}
    assert row.status == OutboxStatus.PENDING


def test_health_answers_head_for_load_balancers_and_refuses_post(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405
