"""The event page: its query count must not grow with the number of events, and it should
serve at least half as fast as a bare Django view.

Builds a fresh database (PostgreSQL `<DATABASE_URL name>_event_page` when DATABASE_URL is
set, else a SQLite file under .bench/) with one event of 50 sessions among 10 events, counts
the queries an anonymous visitor's request costs, grows the site to 1,000 events and counts
again, then serves it with gunicorn and compares the page's throughput with a bare view.
Prints one JSON line: queries_small, queries_large, rps, bare_rps, ratio (rps / bare_rps).
"""

import json
import os
import statistics
import subprocess
import sys
from datetime import timedelta

import dj_database_url

from tests.perf.http_load import PROJECT_ROOT, gunicorn_server, measure, p95

SETTINGS = "tests.perf.settings"
SESSIONS = 50
SMALL, LARGE = 10, 1000
ROUNDS = 3
REQUESTS_PER_ROUND = int(os.environ.get("BENCH_REQUESTS", "200"))
CONCURRENCY = 4
TITLE = "Benchmark conference with fifty sessions"


def fresh_database():
    """Point DATABASE_URL at an empty database made for this benchmark, and migrate it."""
    url = os.environ.get("DATABASE_URL", "")
    bench_dir = PROJECT_ROOT / ".bench"
    bench_dir.mkdir(exist_ok=True)
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg
        from psycopg import sql

        config = dj_database_url.parse(url)
        name = f"{config['NAME']}_event_page"
        with psycopg.connect(
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/" + name
        database = "postgresql"
    else:
        path = bench_dir / "event_page.sqlite3"
        path.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        database = "sqlite"
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return database


def _event(index, number, *, sessions=1, title=None):
    from django.utils import timezone
    from wagtail.rich_text import RichText

    from courses.models import (
        AddOn,
        EventPage,
        EventSession,
        ParticipantBenefit,
        TicketType,
    )

    start = (timezone.now() + timedelta(days=20 + number % 300)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    event = EventPage(
        title=title or f"Workshop {number}",
        slug=f"workshop-{number}",
        format="workshop" if number % 2 else "webinar",
        summary="A benchmark event.",
        capacity=100,
        time_zone="America/Chicago",
        venue_name="Conference Center",
        venue_address="Chicago, Illinois",
        description=[("paragraph", RichText("<p>What the day covers.</p>"))],
    )
    event.sessions = [
        EventSession(
            title=f"Session {n + 1}",
            start=start + timedelta(hours=2 * n),
            end=start + timedelta(hours=2 * n + 1, minutes=30),
            ce_minutes=90,
        )
        for n in range(sessions)
    ]
    event.ticket_types = [
        TicketType(name="Standard", price=45000),
        TicketType(name="Student", price=20000, access_code="STUDENT"),
    ]
    event.add_ons = [AddOn(name="CE credits", price=2500, grants_ce=True)]
    event.benefits = [ParticipantBenefit(text="Certificate of attendance")]
    index.add_child(instance=event)
    return event


def count_queries(path):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    assert Client().get(path).status_code == 200  # per-process caches warm, as for visitors
    with CaptureQueriesContext(connection) as captured:
        response = Client().get(path)
    assert response.status_code == 200, response.status_code
    assert TITLE.encode() in response.content
    return len(captured.captured_queries)


def build_and_count():
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from cms.factories import home_page
    from courses.factories import EventIndexPageFactory, PresenterFactory

    settings.PAGE_CACHE_SECONDS = 0
    index = EventIndexPageFactory(parent=home_page())
    big = _event(index, 0, sessions=SESSIONS, title=TITLE)
    big.presenters.set([PresenterFactory(), PresenterFactory(name="Scott Miller")])
    big.save_revision().publish()
    for number in range(1, SMALL):
        _event(index, number)
    path = big.get_url()
    queries_small = count_queries(path)
    for number in range(SMALL, LARGE):
        _event(index, number)
    queries_large = count_queries(path)
    connection.close()
    return path, queries_small, queries_large


def main():
    database = fresh_database()
    path, queries_small, queries_large = build_and_count()
    rps = {"bare": [], "event": []}
    latencies = {"bare": [], "event": []}
    targets = {"bare": ("/bench/bare", None), "event": (path, TITLE)}
    log_path = PROJECT_ROOT / ".bench" / "gunicorn-event-page.log"
    with gunicorn_server(SETTINGS, workers=2, ready_path="/bench/bare", log_path=log_path) as port:
        for target, _ in targets.values():
            measure(port, target, requests=20, concurrency=CONCURRENCY)
        for _ in range(ROUNDS):
            for name, (target, text) in targets.items():
                run = measure(
                    port,
                    target,
                    requests=REQUESTS_PER_ROUND,
                    concurrency=CONCURRENCY,
                    expect_text=text,
                )
                rps[name].append(run["rps"])
                latencies[name].extend(run["latencies"])
    median = {name: statistics.median(values) for name, values in rps.items()}
    result = {
        "bench": "event_page",
        "queries_small": queries_small,
        "queries_large": queries_large,
        "rps": round(median["event"], 1),
        "bare_rps": round(median["bare"], 1),
        "ratio": round(median["event"] / median["bare"], 3),
        "p95_ms": round(p95(latencies["event"]) * 1000, 1),
        "events": LARGE,
        "sessions": SESSIONS,
        "database": database,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
