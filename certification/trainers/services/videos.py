"""Demonstration videos: versions, resumable uploads, processing, withdrawal and retention.

The Celery tasks that process a video and purge expired ones are defined here, beside the
services they run; their registered names are the ones they had in trainers/tasks.py.
"""

import logging
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit
from cms.email import send_templated_email
from cms.locking import lock_one, locked
from cms.outbox import enqueue

from .. import bucket
from ..models import Enrolment, Requirement, VideoSubmission, VideoUpload
from ..partial_uploads import delete_partial
from ..processing import (
    VideoRejected,
    check_decodes,
    describe,
    is_browser_safe,
    local_copy,
    make_poster,
    probe,
    transcode,
)
from .common import CertificationError, UploadTooLarge

log = logging.getLogger(__name__)

VS = VideoSubmission.Status
IN_FLIGHT = {VS.UPLOADING, VS.PROCESSING, VS.READY, VS.IN_REVIEW}


def may_upload_new_version(submission):
    """Whether the video's own page offers "Upload a new version" (as the dashboard does): it
    is the latest version, and it needs resubmitting, was rejected or withdrawn, or its file
    could not be read; the enrolment is open and no version is approved."""
    versions = VideoSubmission.objects.filter(
        enrolment_id=submission.enrolment_id, requirement_id=submission.requirement_id
    )
    latest = versions.order_by("-version").first()
    return (
        latest is not None
        and latest.pk == submission.pk
        and submission.status in {VS.RESUBMISSION_REQUESTED, VS.REJECTED, VS.WITHDRAWN, VS.FAILED}
        and submission.enrolment.status == Enrolment.Status.ACTIVE
        and not versions.filter(status=VS.APPROVED).exists()
    )


# Transcoding a long video is slow; acks_late with a hard limit below Redis's visibility
# timeout (settings) means a crashed worker's job is redelivered once, not run twice.
SOFT_LIMIT = 3300
HARD_LIMIT = 3600


@transaction.atomic
def start_video_submission(enrolment, requirement, *, actor, consent):
    """A new version of the candidate's video, awaiting its upload."""
    if not consent:
        raise CertificationError(
            _(
                "Please confirm that everyone recognisable in the video agreed to its use for "
                "certification (or is role-playing) before uploading."
            )
        )
    if enrolment.candidate_id != actor.pk:
        raise CertificationError(_("Only the candidate can upload their video."))
    if enrolment.status != Enrolment.Status.ACTIVE or requirement.track_id != enrolment.track_id:
        raise CertificationError(_("This enrolment is not open for uploads."))
    if requirement.kind != Requirement.Kind.VIDEO:
        raise CertificationError(_("This requirement does not take a video."))
    earlier = (
        VideoSubmission.objects.select_for_update()
        .filter(enrolment=enrolment, requirement=requirement)
        .order_by("-version")
    )
    latest = earlier.first()
    if latest and latest.status == VS.UPLOADING and not hasattr(latest, "upload"):
        return latest
    if latest and latest.status in IN_FLIGHT:
        raise CertificationError(
            _(
                "Your current video is still being uploaded, processed or reviewed. "
                "Withdraw it first if you want to replace it."
            )
        )
    if earlier.filter(status=VS.APPROVED).exists():
        raise CertificationError(_("Your video for this requirement is already approved."))
    submission = VideoSubmission.objects.create(
        enrolment=enrolment,
        requirement=requirement,
        version=(latest.version + 1) if latest else 1,
        previous=latest,
        consent_confirmed_at=timezone.now(),
    )
    audit.record(
        "trainers.video.created",
        submission,
        actor=actor,
        after={"version": submission.version, "consent": True},
    )
    return submission


def safe_display_name(filename):
    """Keep a file name for display only: no path parts, no control characters, bounded."""
    name = (filename or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name.strip()[:200] or "video"


@transaction.atomic
def create_upload(submission, *, owner, length, filename, backend=VideoUpload.Backend.TUS):
    """Record the upload's declared size, refusing it before any byte is stored."""
    if submission.enrolment.candidate_id != owner.pk or submission.status != VS.UPLOADING:
        raise CertificationError(_("This submission is not waiting for an upload."))
    limit = submission.enrolment.track.max_upload_bytes
    if length > limit:
        raise UploadTooLarge(
            _(
                "The file is %(size).2f GB; the limit for this track is %(limit).2f GB. "
                "Shorten or compress the video and try again."
            )
            % {"size": length / 1024**3, "limit": limit / 1024**3}
        )
    if length <= 0:
        raise CertificationError(_("The file is empty. Choose the video file itself."))
    if hasattr(submission, "upload"):
        old = submission.upload
        discard_upload_files(old)
        old.delete()
    upload = VideoUpload.objects.create(
        submission=submission, owner=owner, length=length, backend=backend
    )
    submission.original_filename = safe_display_name(filename)
    submission.size_bytes = length
    submission.save(update_fields=["original_filename", "size_bytes"])
    audit.record(
        "trainers.upload.created",
        submission,
        actor=owner,
        after={"bytes": length, "backend": backend},
    )
    return upload


def submission_prefix(submission):
    return f"videos/{submission.public_id}"


def discard_upload_files(upload):
    """Remove a partial upload's bytes (tus file or S3 multipart parts)."""
    if upload.backend == VideoUpload.Backend.TUS:
        delete_partial(upload)
    elif upload.s3_upload_id:
        bucket.abort(upload)


@transaction.atomic
def complete_upload(upload, *, source_name):
    """All bytes arrived: hand the file to processing."""
    submission = VideoSubmission.objects.select_for_update().get(pk=upload.submission_id)
    if submission.status != VS.UPLOADING:
        return submission
    upload.offset = upload.length
    upload.completed_at = timezone.now()
    upload.save(update_fields=["offset", "completed_at"])
    submission.source_name = source_name
    submission.status = VS.PROCESSING
    submission.save(update_fields=["source_name", "status"])
    audit.record(
        "trainers.video.uploaded",
        submission,
        actor=upload.owner,
        before={"status": VS.UPLOADING},
        after={"status": VS.PROCESSING},
    )
    transaction.on_commit(lambda: process_video.delay(submission.pk))
    return submission


@transaction.atomic
def terminate_upload(upload, *, actor):
    """tus termination: the partial bytes go; the submission can take a fresh upload."""
    discard_upload_files(upload)
    submission = upload.submission
    upload.delete()
    audit.record("trainers.upload.terminated", submission, actor=actor)


def stored_file_names(submission):
    """The submission's stored files (source, playback copy, poster)."""
    names = {submission.source_name, submission.playback_name, submission.poster_name}
    return sorted(name for name in names if name)


def _upload_reference(upload):
    """What deleting a partial upload needs, JSON-safe for the task queue."""
    return {
        "id": str(upload.id),
        "backend": upload.backend,
        "s3_key": upload.s3_key,
        "s3_upload_id": upload.s3_upload_id,
    }


def delete_files_after_commit(submission, *, key):
    """Promise, in the caller's transaction, to delete the submission's files once it commits.

    The promise is an outbox row (cms.outbox): it goes if the transaction rolls back, and
    once committed it is carried out even if the broker is down for a while or the worker
    dies (the sweep retries). No file is deleted while the caller's row locks are held.
    """
    names = stored_file_names(submission)
    upload = VideoUpload.objects.filter(submission=submission).first()
    uploads = [_upload_reference(upload)] if upload else []
    if names or uploads:
        enqueue(delete_stored_files_task, names, uploads, key=key)


def delete_stored_files(names, uploads=()):
    """Delete stored files and partial uploads; deleting what is already gone is fine."""
    storage = storages["private"]
    for name in names:
        storage.delete(name)
    for reference in uploads:
        discard_upload_files(SimpleNamespace(**reference))


@transaction.atomic
def mark_processed(submission, *, info, playback_name, poster_name, transcoded):
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.status != VS.PROCESSING:
        return submission
    for key, value in info.items():
        setattr(submission, key, value)
    submission.playback_name = playback_name
    submission.poster_name = poster_name
    submission.transcoded = transcoded
    submission.status = VS.READY
    submission.processed_at = timezone.now()
    submission.save()
    audit.record(
        "trainers.video.processed",
        submission,
        before={"status": VS.PROCESSING},
        after={"status": VS.READY, **{k: str(v) for k, v in info.items()}},
    )
    send_templated_email(
        "certification/trainers/email/processing_finished",
        submission.candidate.email,
        {"submission": submission, "url": reverse("trainers:dashboard")},
    )
    return submission


@transaction.atomic
def mark_failed(submission, *, reason):
    """Processing rejected the file: keep the row and the reason, remove every byte."""
    submission = lock_one(VideoSubmission, submission.pk)
    delete_files_after_commit(submission, key=f"trainers.video-files.failed:{submission.pk}")
    before = submission.status
    submission.status = VS.FAILED
    submission.failure_reason = reason
    submission.source_name = submission.playback_name = submission.poster_name = ""
    submission.save()
    VideoUpload.objects.filter(submission=submission).delete()
    audit.record(
        "trainers.video.failed",
        submission,
        before={"status": before},
        after={"status": VS.FAILED},
        note=reason,
    )
    send_templated_email(
        "certification/trainers/email/processing_failed",
        submission.candidate.email,
        {"submission": submission, "reason": reason, "url": reverse("trainers:dashboard")},
    )
    return submission


@transaction.atomic
def withdraw_submission(submission, *, actor):
    """The candidate takes a video back: its files go once this commits, the record stays."""
    submission = lock_one(VideoSubmission, submission.pk)
    if submission.enrolment.candidate_id != actor.pk:
        raise CertificationError(_("Only the candidate can withdraw their video."))
    if submission.is_decided or submission.status == VS.WITHDRAWN:
        raise CertificationError(_("A decided video cannot be withdrawn."))
    before = submission.status
    delete_files_after_commit(submission, key=f"trainers.video-files.withdrawn:{submission.pk}")
    VideoUpload.objects.filter(submission=submission).delete()
    submission.status = VS.WITHDRAWN
    submission.source_name = submission.playback_name = submission.poster_name = ""
    submission.files_deleted_at = timezone.now()
    submission.save()
    audit.record(
        "trainers.video.withdrawn",
        submission,
        actor=actor,
        before={"status": before},
        after={"status": VS.WITHDRAWN},
    )
    return submission


STALE_UPLOAD_DAYS = 7


def purge_expired_videos(*, now=None):
    """Delete video files a track's retention period after the final decision.

    Also drops the bytes of uploads abandoned for a week; the candidate can start again.
    Each video (and each abandoned upload) is its own short transaction, so a run that dies
    part-way keeps what it did and the next run carries on; the files themselves are deleted
    after each commit, through the outbox. Returns how many videos this run purged.
    """
    now = now or timezone.now()
    stale = VideoUpload.objects.filter(
        completed_at__isnull=True, created_at__lt=now - timedelta(days=STALE_UPLOAD_DAYS)
    )
    for upload_id in list(stale.values_list("pk", flat=True)):
        _drop_abandoned_upload(upload_id)
    purged = 0
    candidates = VideoSubmission.objects.filter(
        status__in=list(VideoSubmission.FINAL), files_deleted_at__isnull=True
    ).select_related("enrolment__track")
    for submission in candidates:
        limit = submission.decided_at + timedelta(
            days=submission.enrolment.track.video_retention_days
        )
        if limit <= now:
            purged += _purge_video(submission.pk, now=now)
    return purged


@transaction.atomic
def _drop_abandoned_upload(upload_id):
    rows = locked(VideoUpload.objects.filter(pk=upload_id, completed_at__isnull=True))
    if not rows:
        return  # completed or removed since the list was read
    upload = rows[0]
    enqueue(
        delete_stored_files_task,
        [],
        [_upload_reference(upload)],
        key=f"trainers.upload-files.abandoned:{upload.pk}",
    )
    audit.record("trainers.upload.abandoned", upload.submission, note="stale upload removed")
    upload.delete()


@transaction.atomic
def _purge_video(submission_id, *, now):
    submission = lock_one(VideoSubmission, submission_id)
    if submission.files_deleted_at is not None or submission.status not in VideoSubmission.FINAL:
        return 0
    delete_files_after_commit(submission, key=f"trainers.video-files.purged:{submission.pk}")
    submission.source_name = submission.playback_name = submission.poster_name = ""
    submission.files_deleted_at = now
    submission.save()
    audit.record("trainers.video.files_deleted", submission, note="retention period ended")
    return 1


def process_submission(submission_id, *, transcode_timeout=3000):
    """Probe, check, describe, make the poster and (if needed) the browser-safe copy."""
    submission = VideoSubmission.objects.select_related("enrolment__track").get(pk=submission_id)
    if submission.status != VS.PROCESSING:
        return submission
    storage = storages["private"]
    prefix = submission_prefix(submission)
    try:
        with local_copy(submission.source_name) as path, tempfile.TemporaryDirectory() as work:
            info = describe(probe(path))
            limit = submission.enrolment.track.max_duration_seconds
            if info["duration_seconds"] > limit:
                raise VideoRejected(
                    _(
                        "The video is %(length).1f minutes long; this track accepts at most "
                        "%(limit).0f minutes. Trim it and upload again."
                    )
                    % {"length": info["duration_seconds"] / 60, "limit": limit / 60}
                )
            check_decodes(path)
            poster = Path(work) / "poster.jpg"
            make_poster(path, info["duration_seconds"], poster)
            with open(poster, "rb") as handle:
                poster_name = storage.save(f"{prefix}/poster.jpg", File(handle))
            safe = is_browser_safe(info)
            playback_name = submission.source_name
            if not safe:
                playable = Path(work) / "playback.mp4"
                transcode(path, playable, transcode_timeout)
                with open(playable, "rb") as handle:
                    playback_name = storage.save(f"{prefix}/playback.mp4", File(handle))
    except VideoRejected as rejection:
        return mark_failed(submission, reason=str(rejection))
    except subprocess.TimeoutExpired:
        return mark_failed(
            submission,
            reason=_("Processing this video took too long. Try a shorter or smaller file."),
        )
    info.pop("_pix_fmt")
    return mark_processed(
        submission,
        info=info,
        playback_name=playback_name,
        poster_name=poster_name,
        transcoded=not safe,
    )


# Celery tasks. Their registered names are those they had in certification/trainers/tasks.py:
# the beat schedule (settings) and messages already queued carry them.


@shared_task(
    name="certification.trainers.tasks.process_video",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_LIMIT,
    time_limit=HARD_LIMIT,
)
def process_video(submission_id):
    try:
        process_submission(submission_id, transcode_timeout=SOFT_LIMIT - 60)
    except SoftTimeLimitExceeded:
        submission = VideoSubmission.objects.get(pk=submission_id)
        mark_failed(
            submission,
            reason=_("Processing this video took too long. Try a shorter or smaller file."),
        )


@shared_task(name="certification.trainers.tasks.delete_stored_files", acks_late=True)
def delete_stored_files_task(names, uploads=()):
    """Delete a video's files after the change that dropped them committed (outbox)."""
    delete_stored_files(names, uploads)


@shared_task(
    name="certification.trainers.tasks.purge_expired_videos",
    acks_late=True,
    soft_time_limit=600,
    time_limit=900,
)
def purge_expired_videos_task():
    return purge_expired_videos()
