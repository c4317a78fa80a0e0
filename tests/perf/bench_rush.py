"""The registration rush: 2,000 hold attempts from 50 concurrent clients for 300 seats.

Runs on PostgreSQL (DATABASE_URL, else the local server's `fit_bench` database) behind
gunicorn, through the real registration form view (`courses:register`), each client signed in
with its own session. Prints one JSON line:

- holds_per_s: seats held per second while seats remained (holds / time to the last hold);
- attempts_per_s: all attempts (holds and "sold out" answers) per second;
- p95_ms: 95th percentile latency of an attempt;
- oversold: seats held or confirmed beyond capacity, counted from the rows afterwards;
- bare_rps: a bare Django view with the same concurrency, in the same run;
- ratio: attempts_per_s / bare_rps (what placing a hold costs against doing nothing).
"""

import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from tests.perf.http_load import PROJECT_ROOT, gunicorn_server, measure, p95

SETTINGS = "tests.perf.settings"
ATTEMPTS = int(os.environ.get("BENCH_RUSH_ATTEMPTS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_RUSH_CONCURRENCY", "50"))
SEATS = int(os.environ.get("BENCH_RUSH_SEATS", "300"))
WORKERS = int(os.environ.get("BENCH_RUSH_WORKERS", "4"))
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fit_bench"


def prepare_database():
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    (PROJECT_ROOT / ".bench").mkdir(exist_ok=True)
    subprocess.run([sys.executable, ".ci/ensure_database.py"], cwd=PROJECT_ROOT, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def build_rush():
    """A fresh event with SEATS seats and ATTEMPTS signed-in buyers; returns what clients need."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    from cms.factories import home_page
    from courses.factories import EventIndexPageFactory
    from courses.models import EventIndexPage, EventPage, EventSession, TicketType

    run = uuid.uuid4().hex[:8]
    index = EventIndexPage.objects.first() or EventIndexPageFactory(parent=home_page())
    from django.utils import timezone

    start = timezone.now() + timedelta(days=30)
    event = EventPage(
        title=f"Registration rush {run}",
        slug=f"rush-{run}",
        format="workshop",
        summary="Benchmark event.",
        capacity=SEATS,
        time_zone="America/New_York",
    )
    event.sessions = [EventSession(title="Day 1", start=start, end=start + timedelta(hours=6))]
    event.ticket_types = [TicketType(name="Standard", price=0, max_per_order=1)]
    index.add_child(instance=event)
    event.save_revision().publish()
    ticket = event.ticket_types.get()

    User = get_user_model()
    users = User.objects.bulk_create(
        User(email=f"rush-{run}-{n}@example.org", legal_name=f"Rush Buyer {n}", password="!")
        for n in range(ATTEMPTS)
    )
    users = list(User.objects.filter(email__startswith=f"rush-{run}-").order_by("pk"))
    clients = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        clients.append({"session": session.session_key, "csrf": secrets.token_hex(16)})
    from django.db import connection

    connection.close()
    return event.pk, ticket.pk, clients


def count_taken(event_id):
    from django.db import connection

    from courses.capacity import event_seats_taken
    from courses.models import EventPage

    connection.close()
    return event_seats_taken(EventPage.objects.get(pk=event_id))


def attempt(port, path, ticket_id, client):
    """POST the ticket form once; returns (outcome, seconds, finished_at)."""
    body = urlencode(
        {
            f"ticket_{ticket_id}": "1",
            "idempotency_key": uuid.uuid4().hex,
            "csrfmiddlewaretoken": client["csrf"],
        }
    )
    headers = {
        "Host": "127.0.0.1",
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"sessionid={client['session']}; csrftoken={client['csrf']}",
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status, location = response.status, response.getheader("Location", "")
    except OSError:
        status, location = None, ""
    finally:
        connection.close()
    finished = time.perf_counter()
    if status == 302 and "/bookings/" in location:
        outcome = "held"
    elif status == 409:
        outcome = "sold out"
    else:
        outcome = f"error {status} {location}"
    return outcome, finished - started, finished


def rush(port, event_id, ticket_id, clients):
    path = f"/registrations/events/{event_id}/register/"
    results = []
    lock = threading.Lock()
    queue = iter(clients)

    def worker():
        while True:
            with lock:
                client = next(queue, None)
            if client is None:
                return
            result = attempt(port, path, ticket_id, client)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return results, started, wall


def main():
    prepare_database()
    event_id, ticket_id, clients = build_rush()
    log_path = PROJECT_ROOT / ".bench" / "gunicorn-rush.log"
    with gunicorn_server(
        SETTINGS, workers=WORKERS, ready_path="/bench/bare", log_path=log_path
    ) as port:
        measure(port, "/bench/bare", requests=100, concurrency=CONCURRENCY)  # warm up
        results, started, wall = rush(port, event_id, ticket_id, clients)
        bare = measure(port, "/bench/bare", requests=ATTEMPTS, concurrency=CONCURRENCY)
    outcomes = [outcome for outcome, _, _ in results]
    errors = [o for o in outcomes if o.startswith("error")]
    holds = outcomes.count("held")
    last_hold = max((done for outcome, _, done in results if outcome == "held"), default=started)
    taken = count_taken(event_id)
    attempts_per_s = len(results) / wall
    result = {
        "bench": "rush",
        "attempts": len(results),
        "seats": SEATS,
        "holds": holds,
        "sold_out": outcomes.count("sold out"),
        "errors": len(errors),
        "holds_per_s": round(holds / (last_hold - started), 1) if holds else 0.0,
        "attempts_per_s": round(attempts_per_s, 1),
        "p95_ms": round(p95([seconds for _, seconds, _ in results]) * 1000, 1),
        "oversold": max(0, taken - SEATS),
        "bare_rps": round(bare["rps"], 1),
        "ratio": round(attempts_per_s / bare["rps"], 3),
        "concurrency": CONCURRENCY,
        "gunicorn_workers": WORKERS,
        "database": "postgresql",
    }
    print(json.dumps(result), flush=True)
    if errors:
        print(f"# first error: {errors[0]}", file=sys.stderr)
    return 0 if result["oversold"] == 0 and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
