"""With a Redis broker, a real `celery -A cms worker` process delivers queued email: the site
writes an outbox row, hands its id to `cms.outbox.deliver`, and the worker sends it and marks
the row sent."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings

PROJECT_ROOT = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).with_name("celery")
# A database number of its own, so the test never touches a developer's queues on /0.
BROKER_URL = "redis://127.0.0.1:6379/11"


def redis_available():
    try:
        return redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")


def worker_env(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "EMAIL_", "DATABASE_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
            "DEBUG": "false",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.sqlite3'}",
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_RESULT_BACKEND": BROKER_URL,
            "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp_path / "outbox"),
        }
    )
    return env


def wait_for(predicate, what, process, log_path, limit=90):
    """Poll until predicate() holds; fail with the worker's log if it never does."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            break
        time.sleep(0.25)
    pytest.fail(f"{what} did not happen; worker log:\n{log_path.read_text(errors='replace')}")


SEND_EMAIL = """
import sys
import django
django.setup()
from cms.celery import app
app.conf.task_default_queue = sys.argv[1]
from django.core.mail import send_mail
from django.db import connection
from cms.models import OutboxMessage
# The outbox table alone, shared with the worker through the SQLite file (a full migrate of
# the project would take most of the test's time).
with connection.schema_editor() as editor:
    editor.create_model(OutboxMessage)
sent = send_mail(
    "Your seat at the Therapeutic Alliance workshop",
    "Dear Zoë Ñúñez, your seat is confirmed.",
    None,
    ["zoe@example.org"],
)
print("queued", sent)
"""


@pytest.fixture
def celery_worker(tmp_path):
    """Start `celery -A cms worker` on a queue of its own; stop it after the test."""
    queue = f"test-{uuid.uuid4().hex}"
    env = worker_env(tmp_path)
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "cms",
                "worker",
                "--loglevel=info",
                "--pool=solo",
                "--queues",
                queue,
                "--hostname",
                f"{queue}@localhost",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: " ready." in log_path.read_text(), "worker start", process, log_path)
        yield {"queue": queue, "env": env, "process": process, "log": log_path}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        redis.Redis.from_url(BROKER_URL).delete(queue)


def test_worker_delivers_an_email_queued_by_the_site(celery_worker, tmp_path):
    producer = subprocess.run(
        [sys.executable, "-c", SEND_EMAIL, celery_worker["queue"]],
        cwd=PROJECT_ROOT,
        env=celery_worker["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert producer.returncode == 0, producer.stderr
    assert "queued 1" in producer.stdout

    outbox = tmp_path / "outbox"
    wait_for(
        lambda: outbox.exists() and any(outbox.iterdir()),
        "email delivery",
        celery_worker["process"],
        celery_worker["log"],
    )
    (message_file,) = list(outbox.iterdir())
    message = message_file.read_text(encoding="utf-8")
    assert "Subject: Your seat at the Therapeutic Alliance workshop" in message
    assert "To: zoe@example.org" in message
    assert "Dear Zo" in message
    wait_for(
        lambda: outbox_statuses(tmp_path) == ["sent"],
        "the outbox row marked sent",
        celery_worker["process"],
        celery_worker["log"],
        limit=30,
    )
    wait_for(
        lambda: "succeeded" in celery_worker["log"].read_text(),
        "the task's success in the log",
        celery_worker["process"],
        celery_worker["log"],
        limit=30,
    )
    assert "cms.outbox.deliver" in celery_worker["log"].read_text()


def outbox_statuses(tmp_path):
    with sqlite3.connect(tmp_path / "worker.sqlite3") as database:
        return [row[0] for row in database.execute("SELECT status FROM cms_outboxmessage")]


def test_beat_starts_with_the_projects_schedule(tmp_path):
    log_path = tmp_path / "beat.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "cms",
                "beat",
                "--loglevel=info",
                "--schedule",
                str(tmp_path / "beat-schedule"),
                "--pidfile=",
            ],
            cwd=PROJECT_ROOT,
            env=worker_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: "beat: Starting..." in log_path.read_text(), "beat start", process, log_path
        )
        assert process.poll() is None, log_path.read_text()
        # Celery masks the password part of the URL in its banner.
        assert "broker -> redis://:**@127.0.0.1:6379/11" in log_path.read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
