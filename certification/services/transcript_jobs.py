"""Transcripts too long for one request: built by the worker, the owner e-mailed when ready.

Up to `INLINE_LIMIT` certificates a transcript is rendered in the request (a second or two).
Beyond that the request only writes a `TranscriptJob` row and its outbox task; the worker
renders the PDF outside any lock, stores it privately, marks the job ready in a short
transaction and e-mails the owner the link (once, however often the task runs).
"""

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit, pdf
from cms.email import send_templated_email
from cms.locking import Busy, lock_one
from cms.outbox import enqueue
from cms.storage import discard_private_file

from .. import transcripts
from ..models import TranscriptJob, TranscriptStatus
from .common import absolute_url

# More certificates than this and the transcript is built by the worker: 50 render in about
# a second; 200 took four seconds in the request and 1,500 would pass gunicorn's timeout.
INLINE_LIMIT = 50

log = logging.getLogger(__name__)


def built_by_worker(certificate_count):
    return certificate_count > INLINE_LIMIT


def pending_transcript(user):
    """The transcript the person asked for that is still on its way, if any."""
    return (
        TranscriptJob.objects.filter(
            owner=user,
            requested_by=None,
            status__in=[TranscriptStatus.QUEUED, TranscriptStatus.BUILDING],
        )
        .order_by("-created_at")
        .first()
    )


def request_transcript(user, *, actor=None):
    """Start building the person's transcript, or return the one already on its way.

    `actor`: CE staff asking for someone's transcript; the e-mail with the link goes to them.
    """
    actor = actor or user
    with transaction.atomic():
        # The person's own row, locked: two clicks at once start one job.
        lock_one(get_user_model(), user.pk)
        job = pending_transcript(user)
        if job is not None and actor.pk == user.pk:
            return job
        job = TranscriptJob.objects.create(
            owner=user,
            requested_by=actor if actor.pk != user.pk else None,
            certificates=transcripts.certificates_for(user).count(),
        )
        audit.record(
            "certification.transcript.requested",
            job,
            actor=actor,
            after={"certificates": job.certificates},
        )
        enqueue(build_transcript_task, job.pk, key=f"certification.transcript:{job.pk}")
    return job


def build_transcript(job_id):
    """Render, store and hand over one transcript; safe to run twice."""
    with transaction.atomic():
        job = lock_one(TranscriptJob, job_id)
        if not job.is_pending:
            return job
        job.status = TranscriptStatus.BUILDING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    owner = job.owner
    recipient = job.requested_by or owner
    try:
        certificates = list(transcripts.certificates_for(owner))
        # Rendering takes seconds: no row is locked meanwhile.
        data = transcripts.transcript_pdf(owner, certificates)
        path, digest = pdf.store_pdf(data, f"transcript-{owner.legal_name}")
    except Exception:
        log.exception("Transcript %s could not be built", job_id)
        TranscriptJob.objects.filter(pk=job_id, status=TranscriptStatus.BUILDING).update(
            status=TranscriptStatus.FAILED, finished_at=timezone.now()
        )
        return TranscriptJob.objects.get(pk=job_id)
    with transaction.atomic():
        job = lock_one(TranscriptJob, job_id)
        if job.status != TranscriptStatus.BUILDING:
            # Another run finished it first: this run's file is not needed.
            transaction.on_commit(lambda: discard_private_file(path, "transcript file"))
            return job
        job.status = TranscriptStatus.READY
        job.certificates = len(certificates)
        job.pdf_path, job.pdf_sha256 = path, digest
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "certificates", "pdf_path", "pdf_sha256", "finished_at"])
        send_templated_email(
            "certification/email/transcript_ready",
            recipient.email,
            {
                "person": owner,
                "recipient": recipient,
                "job": job,
                "link": absolute_url(job.get_absolute_url()),
            },
            key=f"certification.transcript-ready:{job.pk}",
        )
    return job


def transcript_filename(job):
    return _("CE transcript %(name)s.pdf") % {"name": job.owner.legal_name}


def transcript_pdf_bytes(job):
    return pdf.read_pdf(job.pdf_path, job.pdf_sha256)


@shared_task(
    name="certification.tasks.build_transcript",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Busy,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=2000,
)
def build_transcript_task(job_id):
    """Build one person's CE transcript PDF and e-mail them the link."""
    build_transcript(job_id)
