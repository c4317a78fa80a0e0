"""A real worker and two real beat processes on Redis: /healthz sees the worker's heartbeat and
beat's ticks, and only one of the two beats sends the schedule (RedBeat's lock)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from cms import celery as jobs
from cms.celery import app
from cms.observability import request_id_var

PROJECT_ROOT = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).with_name("celery")
# A database number of its own: the default queue, beat's lock and the heartbeats are all here.
BROKER_URL = "redis://127.0.0.1:6379/13"


def redis_available():
    try:
        return redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        return False


pytestmark = [
    pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379"),
    pytest.mark.django_db,
]


def stack_env(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "EMAIL_", "DATABASE_", "REDBEAT_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
            "DEBUG": "false",
            "ENV_FILE": str(tmp_path / "no.env"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_RESULT_BACKEND": BROKER_URL,
            "LOG_FORMAT": "json",
        }
    )
    return env


def start(name, arguments, tmp_path):
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(CELERY), "-A", "cms", *arguments],
            cwd=PROJECT_ROOT,
            env=stack_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log_path


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(predicate, what, logs, limit=120):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    text = "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')}" for path in logs)
    pytest.fail(f"{what} did not happen; logs:\n{text}")


@pytest.fixture
def stack(tmp_path):
    client = redis.Redis.from_url(BROKER_URL)
    client.flushdb()
    started = []
    try:
        worker = start(
            "worker",
            [
                "worker",
                "--loglevel=info",
                "--pool=solo",
                "--hostname",
                "jobs-test@localhost",
                "--without-gossip",
                "--without-mingle",
            ],
            tmp_path,
        )
        started.append(worker)
        beats = [
            start(f"beat{n}", ["beat", "--loglevel=info", "--pidfile="], tmp_path) for n in (1, 2)
        ]
        started.extend(beats)
        yield {"worker": worker, "beats": beats, "redis": client}
    finally:
        for process, _log in started:
            stop(process)
        client.flushdb()


def health(client):
    return client.get("/healthz").json()


def json_lines(path):
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def test_health_sees_the_worker_and_beat_and_only_one_beat_sends(
    client, settings, stack, monkeypatch
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = BROKER_URL
    logs = [stack["worker"][1]] + [log for _process, log in stack["beats"]]

    wait_for(
        lambda: (
            health(client)["worker"].get("last_heartbeat_task_age") is not None
            and health(client)["beat"]["status"] == "ok"
        ),
        "the worker running beat's heartbeat task",
        logs,
    )
    body = health(client)
    assert body["broker"] == "ok"
    assert body["worker"]["status"] == "ok"
    assert body["worker"]["workers"] == ["jobs-test@localhost"]
    assert body["beat"]["status"] == "ok"
    assert "queue" in body

    # RedBeat's lock: one beat sends the schedule, the other waits for the lock.
    sending = [log for _process, log in stack["beats"] if "Sending due task" in log.read_text()]
    assert len(sending) == 1
    assert all(process.poll() is None for process, _log in stack["beats"])
    # Beat's state is in Redis, not in a schedule file in the working tree.
    assert stack["redis"].keys("redbeat:cms:*")
    assert not (PROJECT_ROOT / "celerybeat-schedule").exists()

    # A task queued under a request id: the worker's JSON log line for it carries that id.
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    token = request_id_var.set("req-jobs-test")
    try:
        with app.connection_for_write(BROKER_URL) as connection:
            jobs.heartbeat.apply_async(connection=connection)
    finally:
        request_id_var.reset(token)
    worker_log = stack["worker"][1]

    def traced():
        return [
            line
            for line in json_lines(worker_log)
            if line.get("request_id") == "req-jobs-test" and "succeeded" in line["message"]
        ]

    wait_for(lambda: traced(), "the task's JSON log line with the request id", [worker_log])
    (line,) = traced()
    assert line["logger"] == "celery.app.trace"
    assert line["level"] == "INFO"
    assert "cms.celery.heartbeat" in line["message"]
