"""The pages benchmark: home, event and article pages against a minimal Wagtail page.

Serves the demo site (`load_demo`) on PostgreSQL with gunicorn (2 sync workers, DEBUG off)
and sends a bounded number of requests from a local client.

Floor: `tests/perf/floors.minimal_page`, written here, served by the same gunicorn through the
same middleware (page cache, sessions, authentication, CSRF, messages, the staff-access
mark). It finds the site, routes the same URL path through the same page tree, loads the
specific page and renders a one-line template with its title (and, for a signed-in visitor,
who is signed in). It is the right floor because that is what any Wagtail page must cost:
the ratio is what the page's own template, context and queries add on top.

Fields (ratios candidate/floor in requests per second; higher is better; target ≥ 0.5):
- home/event/article _uncached_vs_minimal_page: an anonymous visitor with a query string,
  which makes the whole-page cache step aside (what the first visitor after a change pays);
- home/event _signed_in_vs_minimal_page: a signed-in member (the page cache never serves
  them); the floor gets the same session cookie;
- home/article _cache_hit_vs_minimal_page: anonymous visitors served from the whole-page
  cache (`cms.page_cache`): a cache hit, not a render, labelled as such;
- *_queries: the queries one request costs (page cache off), for reference.

Every ratio is measured in one run: each round measures the candidate and then its floor,
three rounds, and the figure is the median of the three rounds' ratios. BENCH_SHORT=1 sends
fewer requests (a proof that the bench works, not a measurement).
"""

import json
import os
import statistics
import sys

from tests.perf.database import SETTINGS, prepare_database, setup_django
from tests.perf.http_load import PROJECT_ROOT, gunicorn_server, measure

SHORT = bool(os.environ.get("BENCH_SHORT"))
ROUNDS = 3
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30" if SHORT else "150"))
CONCURRENCY = 4
ARTICLE_TITLE = "The Therapeutic Alliance"
TARGET = ">= 0.5"


def demo_pages():
    """Paths of the demo's home page, first upcoming event and article."""
    from django.utils import timezone
    from wagtail.models import Page

    from courses.models import EventPage

    article = Page.objects.live().filter(title__startswith=ARTICLE_TITLE).first()
    event = EventPage.objects.live().filter(ends_at__gte=timezone.now()).order_by("starts_at")
    event = event.first()
    if article is None or event is None:
        raise RuntimeError("load_demo published no article or no upcoming event")
    return {
        "home": ("/", "<main"),
        "event": (event.get_url(), event.title),
        "article": (article.get_url(), ARTICLE_TITLE),
    }


def member_cookie():
    """A session cookie for a signed-in member (made the way the login view stores it)."""
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    user, _ = get_user_model().objects.get_or_create(
        email="bench-member@example.org", defaults={"legal_name": "Bench Member"}
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"sessionid={session.session_key}"


def count_queries(pages, cookie_user=None):
    """Queries per request with the page cache off, after a warm-up request."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.PAGE_CACHE_SECONDS = 0
    counts = {}
    for name, (path, _) in pages.items():
        for signed_in in (False, True):
            client = Client()
            if signed_in:
                client.force_login(cookie_user)
            client.get(path)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            suffix = "_signed_in_queries" if signed_in else "_queries"
            counts[name + suffix] = len(captured.captured_queries)
    return counts


def comparisons(pages, cookie):
    """name -> (candidate (path, text, headers), floor (path, text, headers))."""
    member = {"Cookie": cookie}
    pairs = {}
    for name in ("home", "event", "article"):
        path, text = pages[name]
        floor = "/bench/minimal-page" + path
        pairs[f"{name}_uncached_vs_minimal_page"] = (
            (path + "?uncached=1", text, None),
            (floor + "?uncached=1", None, None),
        )
    for name in ("home", "event"):
        path, text = pages[name]
        pairs[f"{name}_signed_in_vs_minimal_page"] = (
            (path, text, member),
            ("/bench/minimal-page" + path, None, member),
        )
    for name in ("home", "article"):
        path, text = pages[name]
        pairs[f"{name}_cache_hit_vs_minimal_page"] = (
            (path, text, None),
            ("/bench/minimal-page" + path, None, None),
        )
    return pairs


def main():
    prepare_database(demo=True)
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    pages = demo_pages()
    cookie = member_cookie()
    member = get_user_model().objects.get(email="bench-member@example.org")
    queries = count_queries(pages, member)
    connection.close()
    pairs = comparisons(pages, cookie)
    ratios = {name: [] for name in pairs}
    rps = {name: ([], []) for name in pairs}
    log_path = PROJECT_ROOT / ".bench" / "gunicorn-pages.log"
    with gunicorn_server(SETTINGS, workers=2, ready_path="/bench/bare", log_path=log_path) as port:
        for candidate, floor in pairs.values():  # warm both workers and the caches
            for path, _, headers in (candidate, floor):
                measure(port, path, requests=10, concurrency=CONCURRENCY, headers=headers)
        for _ in range(ROUNDS):
            for name, (candidate, floor) in pairs.items():
                runs = [
                    measure(
                        port,
                        path,
                        requests=REQUESTS,
                        concurrency=CONCURRENCY,
                        expect_text=text,
                        headers=headers,
                    )["rps"]
                    for path, text, headers in (candidate, floor)
                ]
                ratios[name].append(runs[0] / runs[1])
                rps[name][0].append(runs[0])
                rps[name][1].append(runs[1])
    result = {"bench": "pages"}
    result.update({name: round(statistics.median(values), 3) for name, values in ratios.items()})
    result["target"] = {
        name: TARGET if "cache_hit" not in name else "cache hit, no target" for name in ratios
    }
    for name, (candidate, floor) in rps.items():
        result[name.replace("_vs_minimal_page", "_rps")] = round(statistics.median(candidate), 1)
        result[name.replace("_vs_minimal_page", "_floor_rps")] = round(statistics.median(floor), 1)
    result.update(queries)
    result.update(
        {
            "requests_per_round": REQUESTS,
            "rounds": ROUNDS,
            "concurrency": CONCURRENCY,
            "gunicorn_workers": 2,
            "short": SHORT,
            "database": "postgresql",
        }
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
