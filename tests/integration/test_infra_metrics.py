"""`/metrics` for Prometheus behind METRICS_TOKEN; request ids travel from the web to tasks."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from django.conf import settings

from cms import celery as jobs
from cms.celery import app
from cms.observability import request_id_var

pytestmark = pytest.mark.django_db

REDIS_URL = "redis://127.0.0.1:6379/12"


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


def scrape(client, token=None):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token or 'scrape-token'}")


def samples(text):
    """{'name{labels}': value} of the exposition text."""
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def test_metrics_is_not_found_without_a_token_configured(client, settings):
    settings.METRICS_TOKEN = None
    assert client.get("/metrics").status_code == 404
    assert scrape(client).status_code == 404


def test_metrics_refuses_a_missing_or_wrong_token(client, settings):
    settings.METRICS_TOKEN = "scrape-token"
    assert client.get("/metrics").status_code == 403
    assert scrape(client, token="guess").status_code == 403


def test_metrics_count_requests_by_view_and_report_backlogs(client, settings):
    from payments.models import WebhookEvent

    settings.METRICS_TOKEN = "scrape-token"
    client.get("/healthz")
    client.get("/healthz")
    WebhookEvent.objects.create(
        stripe_event_id="evt_waiting", type="checkout.session.completed", payload={}
    )
    response = scrape(client)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    values = samples(response.content.decode())
    assert values['cms_http_requests_total{method="GET",status="200",view="healthz"}'] >= 2
    assert values['cms_http_request_duration_seconds_count{view="healthz"}'] >= 2
    assert values['cms_backlog_pending{backlog="webhooks"}'] == 1
    assert values["cms_outbox_pending"] == 0
    assert values["cms_outbox_lag_seconds"] == 0


@needs_redis
def test_metrics_show_queue_depth_and_task_outcomes(client, settings, redis_broker):
    settings.METRICS_TOKEN = "scrape-token"
    redis_broker.lpush("celery", "a", "b", "c")
    # What the worker's signals record as tasks run, fail and retry (cms/celery.py).
    jobs._count_task(jobs.heartbeat, "run")
    jobs._count_task(jobs.heartbeat, "run")
    jobs._count_task(jobs.heartbeat, "failed")
    values = samples(scrape(client).content.decode())
    assert values["cms_celery_queue_depth"] == 3
    assert values['cms_celery_tasks_total{outcome="run",task="cms.celery.heartbeat"}'] == 2
    assert values['cms_celery_tasks_total{outcome="failed",task="cms.celery.heartbeat"}'] == 1


def test_request_id_is_taken_from_the_header_or_made_and_sent_back(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a")
    assert given.headers["X-Request-ID"] == "lb-7f3a"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="not valid; rm -rf")
    assert len(made.headers["X-Request-ID"]) == 32
    assert made.headers["X-Request-ID"] != "not valid; rm -rf"


@needs_redis
def test_a_task_queued_during_a_request_carries_its_request_id(redis_broker, monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    token = request_id_var.set("req-from-web")
    try:
        with app.connection_for_write(REDIS_URL) as connection:
            jobs.heartbeat.apply_async(connection=connection, queue="request-id-test")
    finally:
        request_id_var.reset(token)
    (raw,) = redis_broker.lrange("request-id-test", 0, -1)
    message = json.loads(raw)
    assert message["headers"]["request_id"] == "req-from-web"
    assert message["headers"]["task"] == "cms.celery.heartbeat"


def test_gunicorn_workers_add_up_their_request_counts_and_write_a_json_access_log(tmp_path):
    """Two gunicorn workers (gunicorn.conf.py): /metrics sums both; the access log is JSON."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "DATABASE_", "PROMETHEUS_", "GUNICORN_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
            "DEBUG": "false",
            "ENV_FILE": str(tmp_path / "no.env"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
            "METRICS_TOKEN": "scrape-token",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
            "WEB_CONCURRENCY": "2",
        }
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with (tmp_path / "gunicorn.log").open("w") as log:
        server = subprocess.Popen(
            [str(gunicorn), "cms.wsgi:application"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        for number in range(20):
            request = urllib.request.Request(
                base + "/healthz", headers={"X-Request-ID": f"probe-{number}"}
            )
            urllib.request.urlopen(request, timeout=10)
        scrape = urllib.request.Request(
            base + "/metrics", headers={"Authorization": "Bearer scrape-token"}
        )
        text = urllib.request.urlopen(scrape, timeout=30).read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    values = samples(text)
    # The 20 probes and the first successful poll, whichever worker answered each.
    assert values['cms_http_requests_total{method="GET",status="200",view="healthz"}'] >= 21
    assert len(list((tmp_path / "metrics").glob("counter_*.db"))) >= 1
    access = [
        json.loads(line) for line in (tmp_path / "access.log").read_text().splitlines() if line
    ]
    probe = next(line for line in access if line["request_id"] == "probe-7")
    assert probe["path"] == "/healthz"
    assert probe["status"] == 200
    assert probe["logger"] == "gunicorn.access"
