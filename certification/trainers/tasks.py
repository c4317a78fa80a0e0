"""Celery tasks: thin calls into processing and services."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from . import abandoned_uploads, processing, services
from .models import VideoSubmission

# Transcoding a long video is slow; acks_late with a hard limit below Redis's visibility
# timeout (settings) means a crashed worker's job is redelivered once, not run twice.
SOFT_LIMIT = 3300
HARD_LIMIT = 3600


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_LIMIT,
    time_limit=HARD_LIMIT,
)
def process_video(submission_id):
    try:
        processing.process_submission(submission_id, transcode_timeout=SOFT_LIMIT - 60)
    except SoftTimeLimitExceeded:
        submission = VideoSubmission.objects.get(pk=submission_id)
        services.mark_failed(
            submission, reason="Processing this video took too long. Try a shorter or smaller file."
        )


@shared_task(acks_late=True, soft_time_limit=600, time_limit=900)
def purge_expired_videos():
    return services.purge_expired_videos()


@shared_task(acks_late=True, soft_time_limit=600, time_limit=900)
def delete_abandoned_uploads():
    return abandoned_uploads.delete_abandoned_uploads()
