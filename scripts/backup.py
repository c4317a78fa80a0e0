"""`make backup` / `make restore`: the PostgreSQL database and the private files, together.

    python -m scripts.backup backup [--into backups]
    python -m scripts.backup restore backups/20261202T013000Z [--database-url URL]
                                     [--media-root DIR] [--yes]

A backup is one timestamped folder:

- `database.dump`: `pg_dump -Fc` (custom format: compressed, restorable table by table);
- `private_media.tar.gz` when private files are on disk (PRIVATE_MEDIA_ROOT), or
  `private_media/` (every object under the storage's location, same key layout) when they
  are in the S3 bucket;
- `manifest.json`: when, from which database, the row count of every table and the number of
  private files, so a restore can be checked against it.

Restore creates the target database if missing and loads the dump into it with `pg_restore
--clean --if-exists --no-owner`; the private files go back to the folder (or bucket). It
refuses to overwrite a database that has tables unless `--yes` is given. Settings come from the
environment, as for the site (DJANGO_SETTINGS_MODULE, DATABASE_URL, AWS_*).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django

DUMP = "database.dump"
MEDIA_TAR = "private_media.tar.gz"
MEDIA_DIR = "private_media"
MANIFEST = "manifest.json"
SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BackupError(Exception):
    pass


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.production")
    django.setup()


def database_url():
    """The default database as a libpq URL (what pg_dump / pg_restore / psql take)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        raise BackupError("Backups need PostgreSQL (DATABASE_URL=postgres://...).")
    user = db.get("USER") or ""
    auth = f"{user}@" if user else ""
    host = db.get("HOST") or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{db['NAME']}"


def _pg_env():
    from django.conf import settings

    env = dict(os.environ)
    password = settings.DATABASES["default"].get("PASSWORD")
    if password:
        env["PGPASSWORD"] = password
    return env


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, env=_pg_env(), **kwargs)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()}")
    return result.stdout


def table_counts(url):
    """Every table of the public schema and its row count, read with psql."""
    tables = _run(
        [
            "psql",
            "-X",
            "-qAt",
            "-d",
            url,
            "-c",
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        ],
        timeout=60,
    ).split()
    if not tables:
        return {}
    _check_names(tables)
    query = " UNION ALL ".join(
        f"SELECT '{name}', count(*) FROM public.\"{name}\""  # noqa: S608 - names checked
        for name in tables
    )
    rows = _run(["psql", "-X", "-qAt", "-F", "\t", "-d", url, "-c", query], timeout=300)
    return {name: int(count) for name, count in (line.split("\t") for line in rows.splitlines())}


def _check_names(names):
    """Table and database names go into SQL text: allow only plain identifiers."""
    for name in names:
        if not SAFE_NAME.match(name):
            raise BackupError(f"Unexpected name {name!r}.")


def _bucket():
    """(client, bucket, prefix) when private files are in S3, else None."""
    from django.core.files.storage import storages

    from cms.storage import private_s3_client

    client = private_s3_client()
    if client is None:
        return None
    storage = storages["private"]
    location = (storage.location or "").strip("/")
    return client, storage.bucket_name, f"{location}/" if location else ""


def _private_root():
    from django.core.files.storage import storages

    return Path(storages["private"].location)


def backup(into="backups"):
    """Write a new timestamped backup folder under `into`; return its path."""
    _setup()
    url = database_url()
    folder = Path(into) / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=False)
    counts = table_counts(url)
    _run(["pg_dump", "-Fc", "--no-owner", "--no-acl", "-f", str(folder / DUMP), url], timeout=3600)
    bucket = _bucket()
    if bucket is None:
        root = _private_root()
        files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        with tarfile.open(folder / MEDIA_TAR, "w:gz") as archive:
            for path in files:
                archive.add(path, arcname=str(path.relative_to(root)))
        media = {"kind": "folder", "root": str(root), "files": len(files)}
    else:
        client, name, prefix = bucket
        files = 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix):
            for item in page.get("Contents", []):
                target = folder / MEDIA_DIR / item["Key"][len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(name, item["Key"], str(target))
                files += 1
        media = {"kind": "bucket", "bucket": name, "prefix": prefix, "files": files}
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": _safe(url),
        "tables": counts,
        "private_media": media,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return folder


def restore(folder, *, database_url_=None, media_root=None, overwrite=False):
    """Load a backup folder into a database (default: the site's) and put the files back."""
    _setup()
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    url = database_url_ or database_url()
    _create_database_if_missing(url)
    if table_counts(url) and not overwrite:
        raise BackupError(f"{_safe(url)} already has tables; pass --yes to replace them.")
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--exit-on-error",
            "-d",
            url,
            str(folder / DUMP),
        ],
        timeout=3600,
    )
    bucket = _bucket() if media_root is None else None
    if (folder / MEDIA_TAR).exists():
        if bucket is not None:
            raise BackupError("This backup holds a folder of files; give --media-root.")
        root = Path(media_root) if media_root else _private_root()
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(folder / MEDIA_TAR, "r:gz") as archive:
            archive.extractall(root, filter="data")
    else:
        files = [p for p in (folder / MEDIA_DIR).rglob("*") if p.is_file()]
        if bucket is None:
            root = Path(media_root) if media_root else _private_root()
            for path in files:
                target = root / path.relative_to(folder / MEDIA_DIR)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(path.read_bytes())
        else:
            client, name, prefix = bucket
            for path in files:
                key = prefix + str(path.relative_to(folder / MEDIA_DIR))
                client.upload_file(str(path), name, key)
    return manifest


def _safe(url):
    parts = urlsplit(url)
    return f"{parts.hostname}/{parts.path.lstrip('/')}"


def _create_database_if_missing(url):
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    _check_names([name])
    exists = _run(
        [
            "psql",
            "-X",
            "-qAt",
            "-d",
            admin,
            "-c",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",  # noqa: S608 - checked
        ],
        timeout=60,
    ).strip()
    if not exists:
        _run(["psql", "-X", "-q", "-d", admin, "-c", f'CREATE DATABASE "{name}"'], timeout=60)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("backup", help="write a new backup folder")
    make.add_argument("--into", default=os.environ.get("BACKUP_DIR", "backups"))
    back = sub.add_parser("restore", help="load a backup folder")
    back.add_argument("folder")
    back.add_argument("--database-url", default=None, help="default: the site's database")
    back.add_argument("--media-root", default=None, help="restore files into this folder")
    back.add_argument("--yes", action="store_true", help="replace a database that has tables")
    args = parser.parse_args(argv)
    try:
        if args.command == "backup":
            folder = backup(args.into)
            print(json.dumps({"backup": str(folder)}))
        else:
            manifest = restore(
                args.folder,
                database_url_=args.database_url,
                media_root=args.media_root,
                overwrite=args.yes,
            )
            print(json.dumps({"restored": args.folder, "tables": len(manifest["tables"])}))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
