"""Create the PostgreSQL database named in DATABASE_URL when it does not exist yet.

`make test` and `make run` call this; on SQLite (no DATABASE_URL) it does nothing, since
Django creates the file itself.
"""

import os
import sys

import dj_database_url


def main():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return 0
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = config["NAME"]
    connect = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    try:
        with psycopg.connect(**connect) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"Created PostgreSQL database {name}")
    except psycopg.OperationalError as error:
        print(f"Cannot reach PostgreSQL for DATABASE_URL: {error}", file=sys.stderr)
        print("Start PostgreSQL or unset DATABASE_URL to use SQLite.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
