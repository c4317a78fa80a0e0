"""Abandoned tus uploads: a partial file nobody has written to for a day is deleted.

A tus upload keeps its bytes in `video-uploads/<id>.part` in private storage (see
`partial_uploads`) and a `VideoUpload` row. Every PATCH appends to the file, so the file's
modification time is the upload's last activity (the row's `created_at` when no byte has
arrived yet). Once that is more than `IDLE_LIMIT` ago, the file and the row go; the submission
stays "uploading", so the candidate can simply start the upload again. Completed uploads (their
file has already become the submission's source) and uploads still being written to are left
alone.

Run hourly by Celery beat (`delete_abandoned_uploads_task`, below).
"""

import contextlib
import fcntl
from datetime import UTC, datetime, timedelta
from pathlib import Path

from celery import shared_task
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from cms import audit

from .models import VideoUpload
from .partial_uploads import PARTIAL_DIR, partial_path

IDLE_LIMIT = timedelta(hours=24)


def _modified_at(path):
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except FileNotFoundError:
        return None


def last_activity(upload, path=None):
    """When bytes last arrived for `upload` (or when it was created, if none have)."""
    modified = _modified_at(path or partial_path(upload))
    return max(upload.created_at, modified) if modified else upload.created_at


@contextlib.contextmanager
def _exclusive(path):
    """Hold the tus writer's lock on `path` (True), or yield False while a PATCH holds it.

    A missing file needs no lock (yields True)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after the lock is released
    except FileNotFoundError:
        yield True
        return
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _delete_if_idle(upload, cutoff):
    path = partial_path(upload)
    with _exclusive(path) as free:
        if not free or last_activity(upload, path) >= cutoff:
            return False
        with transaction.atomic():
            row = (
                VideoUpload.objects.select_for_update()
                .filter(pk=upload.pk, completed_at__isnull=True)
                .select_related("submission")
                .first()
            )
            if row is None:
                return False
            path.unlink(missing_ok=True)
            audit.record(
                "trainers.upload.abandoned",
                row.submission,
                note=f"partial upload idle for over {IDLE_LIMIT} removed",
                after={"bytes_received": row.offset, "bytes_declared": row.length},
            )
            row.delete()
    return True


def delete_abandoned_uploads(*, now=None, idle=IDLE_LIMIT):
    """Delete tus partial uploads idle for longer than `idle`; returns how many went."""
    cutoff = (now or timezone.now()) - idle
    try:
        root = Path(storages["private"].path(PARTIAL_DIR))
    except NotImplementedError:
        return 0  # remote private storage: tus (local files only) is not in use
    deleted = 0
    candidates = VideoUpload.objects.filter(
        backend=VideoUpload.Backend.TUS, completed_at__isnull=True, created_at__lt=cutoff
    )
    for upload in candidates.iterator():
        deleted += _delete_if_idle(upload, cutoff)
    # Partial files whose row is gone (a crash between the two) go too, once idle.
    if root.is_dir():
        unfinished = {
            str(pk)
            for pk in VideoUpload.objects.filter(
                backend=VideoUpload.Backend.TUS, completed_at__isnull=True
            ).values_list("pk", flat=True)
        }
        for path in root.glob("*.part"):
            if path.stem in unfinished:
                continue
            with _exclusive(path) as free:
                modified = _modified_at(path)
                if free and modified and modified < cutoff:
                    path.unlink(missing_ok=True)
                    deleted += 1
    return deleted


# The registered name is the one the task had in trainers/tasks.py: the beat schedule
# (settings) and messages already queued carry it.
@shared_task(
    name="certification.trainers.tasks.delete_abandoned_uploads",
    acks_late=True,
    soft_time_limit=600,
    time_limit=900,
)
def delete_abandoned_uploads_task():
    return delete_abandoned_uploads()
