"""`make backup` / `make restore` round trip on PostgreSQL: a backup restored into a fresh
database has the same rows in every table, and a certificate's restored PDF still matches the
SHA-256 the database recorded when it was issued."""

import hashlib
import subprocess
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from certification import services
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
)
from certification.models import Certificate, EvaluationResponse
from courses import attendance
from scripts import backup as backups
from tests.integration.test_trainers_s3 import moto_endpoint, s3_settings  # noqa: F401

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def private_folder(settings, tmp_path):
    from django.core.files.storage import storages

    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    storages._storages.pop("private", None)
    yield tmp_path / "private"
    storages._storages.pop("private", None)


@pytest.fixture
def fresh_database():
    url = backups.database_url()
    name = f"restore_{uuid.uuid4().hex[:10]}"
    yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    connection.close()
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    subprocess.run(
        ["psql", "-X", "-q", "-d", admin, "-c", f'DROP DATABASE IF EXISTS "{name}"'], check=False
    )


def psql(url, query):
    return subprocess.run(
        ["psql", "-X", "-qAt", "-F", "\t", "-d", url, "-c", query],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_backup_restores_into_a_fresh_database_with_the_same_rows_and_pdf(
    private_folder, fresh_database, tmp_path
):
    make_sponsor()
    event = make_event("Backup Workshop")
    make_offering(event, make_body("APA", minutes_per_credit=60))
    registration = make_registration(event, name="Ada Backup", email="ada@example.org")
    for session in event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    certificate = services.issue_certificate(registration, notify=False)
    assert certificate.pdf_sha256 and (private_folder / certificate.pdf_path).exists()

    folder = backups.backup(into=tmp_path / "backups")
    assert sorted(p.name for p in folder.iterdir()) == [
        "database.dump",
        "manifest.json",
        "private_media.tar.gz",
    ]
    restored_files = tmp_path / "restored-private"
    manifest = backups.restore(folder, database_url_=fresh_database, media_root=restored_files)

    # Every table has the same number of rows as when the backup was taken.
    assert manifest["tables"]["certification_certificate"] == 1
    assert backups.table_counts(fresh_database) == manifest["tables"]
    assert backups.table_counts(fresh_database) == backups.table_counts(backups.database_url())
    # The certificate's PDF came back byte for byte: its hash is the one recorded at issue.
    query = "SELECT pdf_path, pdf_sha256 FROM certification_certificate WHERE id = %d"
    path, stored_hash = psql(fresh_database, query % certificate.pk).split("\t")
    assert stored_hash == Certificate.objects.get(pk=certificate.pk).pdf_sha256
    assert hashlib.sha256((restored_files / path).read_bytes()).hexdigest() == stored_hash

    # A second restore over a database that has tables is refused unless asked for.
    with pytest.raises(backups.BackupError, match="already has tables"):
        backups.restore(folder, database_url_=fresh_database, media_root=restored_files)


def test_with_s3_the_bucket_objects_are_backed_up_and_put_back(
    s3_settings,  # noqa: F811
    fresh_database,
    tmp_path,
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    s3, bucket = s3_settings
    name = storages["private"].save("certificates/backup-check.pdf", ContentFile(b"%PDF-1.7 x"))
    key = f"private/{name}"
    folder = backups.backup(into=tmp_path / "backups")
    assert (folder / "private_media" / name).read_bytes() == b"%PDF-1.7 x"
    assert not (folder / "private_media.tar.gz").exists()

    s3.delete_object(Bucket=bucket, Key=key)
    backups.restore(folder, database_url_=fresh_database)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"%PDF-1.7 x"
