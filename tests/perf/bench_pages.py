"""The pages benchmark: home and article page throughput against a bare Django view.

Serves the demo site with gunicorn (2 sync workers, DEBUG off), sends a bounded number of
requests from a local client, in alternating rounds so background load on the machine
affects every URL alike, and counts the SQL queries each page costs. Prints one JSON line.
"""

import json
import os
import statistics
import subprocess
import sys

from tests.perf.http_load import PROJECT_ROOT, gunicorn_server, measure, p95

SETTINGS = "tests.perf.settings"
ROUNDS = 3
REQUESTS_PER_ROUND = int(os.environ.get("BENCH_REQUESTS", "300"))
UNCACHED_REQUESTS_PER_ROUND = int(os.environ.get("BENCH_UNCACHED_REQUESTS", "100"))
CONCURRENCY = 4
ARTICLE_TITLE = "The Therapeutic Alliance"


def prepare_database():
    """Migrate the bench database and load the demo content (both idempotent)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    (PROJECT_ROOT / ".bench" / "static").mkdir(parents=True, exist_ok=True)
    if os.environ.get("DATABASE_URL"):
        subprocess.run([sys.executable, ".ci/ensure_database.py"], cwd=PROJECT_ROOT, check=True)
    for command in (["migrate", "--noinput"], ["load_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def page_paths_and_queries():
    """The article's URL and the queries each page costs to render (page cache off)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from wagtail.models import Page

    article = Page.objects.live().filter(title__startswith=ARTICLE_TITLE).first()
    if article is None:
        raise RuntimeError(f"load_demo published no page titled {ARTICLE_TITLE!r}")
    paths = {"home": "/", "article": article.get_url()}
    queries = {}
    settings.PAGE_CACHE_SECONDS = 0
    for name, path in paths.items():
        # The first request fills per-process caches (site root paths, settings); a visitor
        # after the first meets the warm numbers.
        assert Client().get(path).status_code == 200
        with CaptureQueriesContext(connection) as captured:
            response = Client().get(path)
        assert response.status_code == 200, (path, response.status_code)
        queries[name] = len(captured.captured_queries)
    return paths, queries, article.title


def main():
    prepare_database()
    paths, queries, article_title = page_paths_and_queries()
    article_text = article_title.split("—")[0].strip()
    # A query string makes the page cache step aside, so the *_uncached figures show what
    # rendering the page costs (a visitor who is signed in, or the first after a change).
    targets = {
        "bare": ("/bench/bare", "Heart and Soul of Change Project", REQUESTS_PER_ROUND),
        "home": (paths["home"], "<main", REQUESTS_PER_ROUND),
        "article": (paths["article"], article_text, REQUESTS_PER_ROUND),
        "home_uncached": (paths["home"] + "?uncached=1", "<main", UNCACHED_REQUESTS_PER_ROUND),
        "article_uncached": (
            paths["article"] + "?uncached=1",
            article_text,
            UNCACHED_REQUESTS_PER_ROUND,
        ),
    }
    rps = {name: [] for name in targets}
    latencies = {name: [] for name in targets}
    log_path = PROJECT_ROOT / ".bench" / "gunicorn.log"
    with gunicorn_server(SETTINGS, workers=2, ready_path="/bench/bare", log_path=log_path) as port:
        for path, _, _ in targets.values():
            measure(port, path, requests=20, concurrency=CONCURRENCY)  # warm both workers
        for _ in range(ROUNDS):
            for name, (path, text, requests) in targets.items():
                run = measure(
                    port,
                    path,
                    requests=requests,
                    concurrency=CONCURRENCY,
                    expect_text=text,
                )
                rps[name].append(run["rps"])
                latencies[name].extend(run["latencies"])
    median = {name: statistics.median(values) for name, values in rps.items()}
    result = {
        "bench": "pages",
        "bare_rps": round(median["bare"], 1),
        "home_rps": round(median["home"], 1),
        "article_rps": round(median["article"], 1),
        "home_ratio": round(median["home"] / median["bare"], 3),
        "article_ratio": round(median["article"] / median["bare"], 3),
        "home_queries": queries["home"],
        "article_queries": queries["article"],
        "bare_p95_ms": round(p95(latencies["bare"]) * 1000, 2),
        "home_p95_ms": round(p95(latencies["home"]) * 1000, 2),
        "article_p95_ms": round(p95(latencies["article"]) * 1000, 2),
        "home_uncached_rps": round(median["home_uncached"], 1),
        "article_uncached_rps": round(median["article_uncached"], 1),
        "home_uncached_ratio": round(median["home_uncached"] / median["bare"], 3),
        "article_uncached_ratio": round(median["article_uncached"] / median["bare"], 3),
        "home_uncached_p95_ms": round(p95(latencies["home_uncached"]) * 1000, 2),
        "article_uncached_p95_ms": round(p95(latencies["article_uncached"]) * 1000, 2),
        "requests_per_url": ROUNDS * REQUESTS_PER_ROUND,
        "uncached_requests_per_url": ROUNDS * UNCACHED_REQUESTS_PER_ROUND,
        "database": "postgresql" if os.environ.get("DATABASE_URL") else "sqlite",
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
