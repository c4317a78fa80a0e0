"""A tus upload nobody has written to for a day is deleted (file and row); others stay."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import storages
from django.utils import timezone

from certification.trainers import tasks
from certification.trainers.models import VideoSubmission, VideoUpload
from certification.trainers.partial_uploads import partial_path
from cms.models import AuditRecord
from tests.trainers_support.builders import (
    TUS,
    build_track,
    person,
    start_submission,
    tus_metadata,
)

pytestmark = pytest.mark.django_db


def _partial_upload(client, track, email, *, sent=b"z" * 40, length=100):
    """A candidate starts a tus upload of `length` bytes and sends `sent` of them."""
    candidate = person(email)
    client.force_login(candidate)
    submission = start_submission(track, candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id, name="demo.mp4"),
        **TUS,
    )
    assert created.status_code == 201
    upload = VideoUpload.objects.get(submission=submission)
    if not sent:
        return upload, created["Location"]
    patched = client.generic(
        "PATCH",
        created["Location"],
        sent,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    assert patched.status_code == 204
    upload.refresh_from_db()
    return upload, created["Location"]


def _idle_for(upload, hours, *, created_hours_ago=30):
    """Pretend the upload was created `created_hours_ago` and last written `hours` ago."""
    now = timezone.now()
    VideoUpload.objects.filter(pk=upload.pk).update(
        created_at=now - timedelta(hours=created_hours_ago)
    )
    path = partial_path(upload)
    if path.exists():
        stamp = (now - timedelta(hours=hours)).timestamp()
        os.utime(path, (stamp, stamp))


def test_idle_partial_uploads_are_deleted_and_active_or_completed_ones_stay(client):
    track = build_track()
    idle, idle_location = _partial_upload(client, track, "idle@example.org")
    active, _ = _partial_upload(client, track, "active@example.org")
    completed, _ = _partial_upload(client, track, "done@example.org", sent=b"v" * 100)
    completed.refresh_from_db()
    assert completed.completed_at is not None
    source = Path(storages["private"].path(completed.submission.source_name))
    assert source.exists() and not partial_path(completed).exists()

    _idle_for(idle, 25)
    _idle_for(active, 1)  # a long upload, started 30 hours ago, still receiving bytes
    _idle_for(completed, 25)

    assert tasks.delete_abandoned_uploads() == 1

    # The idle one: its bytes and its row are gone; the candidate can start again.
    assert not partial_path(idle).exists()
    assert not VideoUpload.objects.filter(pk=idle.pk).exists()
    assert idle.submission.status == VideoSubmission.Status.UPLOADING
    assert AuditRecord.objects.filter(
        action="trainers.upload.abandoned", object_id=str(idle.submission.pk)
    ).exists()
    client.force_login(idle.owner)
    assert client.head(idle_location, **TUS).status_code == 404

    # The active one keeps its 40 bytes and resumes from there; the completed one is untouched.
    assert partial_path(active).stat().st_size == 40
    assert VideoUpload.objects.get(pk=active.pk).offset == 40
    assert VideoUpload.objects.filter(pk=completed.pk).exists()
    assert source.exists()


def test_an_upload_with_no_bytes_counts_from_its_creation(client):
    track = build_track()
    fresh, _ = _partial_upload(client, track, "fresh@example.org", sent=b"")
    partial_path(fresh).unlink()
    VideoUpload.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert tasks.delete_abandoned_uploads() == 0
    VideoUpload.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert tasks.delete_abandoned_uploads() == 1
    assert not VideoUpload.objects.filter(pk=fresh.pk).exists()


def test_an_idle_partial_file_without_its_row_is_deleted_too():
    root = Path(storages["private"].path("video-uploads"))
    root.mkdir(parents=True, exist_ok=True)
    orphan = root / "00000000-0000-4000-8000-000000000001.part"
    recent = root / "00000000-0000-4000-8000-000000000002.part"
    for path in (orphan, recent):
        path.write_bytes(b"x" * 10)
    stamp = (timezone.now() - timedelta(hours=25)).timestamp()
    os.utime(orphan, (stamp, stamp))
    try:
        tasks.delete_abandoned_uploads()
        assert not orphan.exists()
        assert recent.exists()
    finally:
        recent.unlink(missing_ok=True)
        orphan.unlink(missing_ok=True)


def test_the_sweep_runs_hourly():
    entry = next(
        entry
        for entry in django_settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "certification.trainers.tasks.delete_abandoned_uploads"
    )
    assert entry["schedule"] == 3600.0
