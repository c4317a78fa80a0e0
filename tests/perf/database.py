"""The benchmarks' database: PostgreSQL, migrated, shared by every bench process of a run.

`make bench` passes DATABASE_URL through; without it the benchmarks use the local server's
`fit_bench` database (README: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/fit_bench`).
They refuse SQLite: row locks, query plans and concurrency are what they measure.
"""

import os
import subprocess
import sys

from tests.perf.http_load import PROJECT_ROOT

SETTINGS = "tests.perf.settings"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fit_bench"


def use_postgres():
    """Point this process (and the servers it starts) at the PostgreSQL bench database."""
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"The benchmarks run on PostgreSQL; DATABASE_URL is {url!r}")
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    return url


def prepare_database(*, demo=False):
    """Create and migrate the bench database (and load the demo content when asked)."""
    use_postgres()
    (PROJECT_ROOT / ".bench" / "static").mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, ".ci/ensure_database.py"], cwd=PROJECT_ROOT, check=True)
    commands = [["migrate", "--noinput"]] + ([["load_demo"]] if demo else [])
    for command in commands:
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_ROOT,
            env=os.environ.copy(),
            check=True,
            stdout=subprocess.DEVNULL,
        )


def setup_django():
    use_postgres()
    import django

    django.setup()


def fresh_database(suffix):
    """Drop and create `<bench database>_<suffix>`, point DATABASE_URL at it and migrate it.

    For a benchmark whose figures depend on every row in a table (an admin list counts them
    all), so that rows left by earlier runs or other benchmarks cannot change them.
    """
    import dj_database_url
    import psycopg
    from psycopg import sql

    url = use_postgres()
    config = dj_database_url.parse(url)
    name = f"{config['NAME']}_{suffix}"
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
    (PROJECT_ROOT / ".bench" / "static").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return name
