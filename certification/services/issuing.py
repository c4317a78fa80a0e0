"""Issuing, reissuing and revoking CE certificates (one at a time or as a bulk job), and
rendering them (the facts they print are read in `certificate_facts`). The bulk job's Celery
task is defined here, beside what it runs.
"""

import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit, pdf, pdf_layers
from cms.email import send_templated_email
from cms.locking import Busy, lock_one, lock_one_reusing_sql
from cms.outbox import enqueue
from cms.storage import discard_private_file
from courses.models import Registration, RegistrationStatus

from ..credits import (
    headline_hours,
    is_recorded,
    last_day_attended,
    session_presence,
)
from ..models import (
    Certificate,
    CertificateStatus,
    CESponsor,
    IssueJob,
    IssueJobStatus,
)
from .certificate_facts import (
    credit_lines,
    home_study_completed_on,
    program_dates,
    program_format,
    program_presenters,
    signature_data_uri,
)
from .common import CEError, NotEligible, absolute_url
from .eligibility import (
    EligibilityStatus,
    blocking_revocation,
    current_certificate,
    eligibility,
    revocation_label,
)
from .issue_facts import (
    event_with_issue_facts,
    read_certificates,
    registrations_with_issue_facts,
    with_certificates_flag,
    with_issue_facts,
)
from .licenses import registration_licenses

CERTIFICATE_TEMPLATE = "certification/pdf/certificate.html"
CERTIFICATE_LINES_TEMPLATE = "certification/pdf/certificate_variable.html"

log = logging.getLogger(__name__)


# -- the certificate's printed facts ----------------------------------------------------------


def certificate_context(certificate, *, sponsor=None):
    """What the certificate template prints; built only from the certificate's own record."""
    sponsor = sponsor if sponsor is not None else CESponsor.current()
    signature = signature_data_uri(sponsor)
    verify_url = absolute_url(certificate.get_verification_url())
    qr_modules = pdf.qr_code_modules(verify_url)
    return {
        "certificate": certificate,
        "credits": certificate.credits,
        "licenses": certificate.licenses,
        "sponsor": sponsor,
        "signature_data_uri": signature,
        "verify_url": verify_url,
        "qr_modules": qr_modules,
        # A callable, which the template calls only when it prints the whole certificate: on
        # its static layer the QR code is drawn from the modules (cms.pdf_layers).
        "qr_data_uri": partial(pdf.one_bit_png_data_uri, qr_modules),
        "sample": any(line.get("sample") for line in certificate.credits),
    }


def render_certificate(certificate, *, sponsor=None):
    """The certificate's PDF: its own lines drawn on the program's static layer, laid out once
    (cms.pdf_layers); the whole template when a line does not fit the space the layer leaves."""
    context = certificate_context(certificate, sponsor=sponsor)
    data = render_on_static_layer(context)
    return data if data is not None else pdf.render_pdf(CERTIFICATE_TEMPLATE, context)


def render_on_static_layer(context):
    """The certificate of `context` drawn on its program's static layer: its own lines and
    its QR code; None when a line does not fit the room the layer leaves for it."""
    return pdf_layers.render_pdf_on_static_layer(
        CERTIFICATE_TEMPLATE,
        CERTIFICATE_LINES_TEMPLATE,
        context,
        pictures={"picture-qr": context["qr_modules"]},
    )


def certificate_filename(certificate):
    """The download name: the attendee's name in its own script, plus the id."""
    return _("CE certificate %(name)s %(code)s.pdf") % {
        "name": certificate.attendee_name,
        "code": certificate.code,
    }


def certificate_pdf_bytes(certificate):
    return pdf.read_pdf(certificate.pdf_path, certificate.pdf_sha256)


# -- issuing ----------------------------------------------------------------------------------


def _snapshot(certificate):
    return {
        "code": certificate.code,
        "status": certificate.status,
        "attendee_name": certificate.attendee_name,
        "total_hours": str(certificate.total_hours),
        "pdf_sha256": certificate.pdf_sha256,
    }


def _notify(certificate):
    """The attendee's certificate is ready: tell them, once the issue has committed."""
    recipient = (
        certificate.attendee.email
        if certificate.attendee_id
        else certificate.registration.attendee_email
    )
    send_templated_email(
        "certification/email/certificate_issued",
        recipient,
        {
            "certificate": certificate,
            "link": absolute_url(certificate.get_absolute_url()),
            "verify_url": absolute_url(certificate.get_verification_url()),
        },
        key=f"certification.certificate-issued:{certificate.code}",
        new_key=True,  # the certificate's row, and so its code, is new in this transaction
    )


def issue_certificate(
    registration,
    *,
    actor=None,
    supersedes=None,
    correction_note="",
    notify=True,
    sponsor=None,
    issue_job=None,
    event=None,
    facts_read=False,
):
    """Issue the attendee's certificate, or refuse with the reason they are not eligible.

    Issuing twice returns the certificate already issued; a correction goes through
    `reissue_certificate`, which supersedes the old one.

    The PDF is rendered and stored first, outside any transaction; then a short transaction
    locks the registration, checks again that no other certificate became current meanwhile
    (a bulk issue and the auto-issue after the evaluation can race) and saves. The loser of
    such a race gets the winner's certificate back, and its own rendered file is deleted once
    its transaction has rolled back. The database's one-current-certificate constraint is the
    last guard.

    `event`: the registration's event read by `event_with_issue_facts` (a bulk job's, read
    once for all its attendees); without it, the event is read with the registration.
    `facts_read`: `registration` was just read with its facts by
    `registrations_with_issue_facts` (a bulk job's), so it is not read again.
    """
    if not facts_read:
        registration = with_issue_facts(registration, event)
    state = eligibility(registration)
    if state.status == EligibilityStatus.ISSUED and supersedes is None:
        return state.certificate
    if supersedes is None and state.status == EligibilityStatus.REVOKED:
        raise NotEligible(
            _("%(name)s is not eligible: %(status)s.")
            % {"name": registration.attendee_name, "status": state.label}
        )
    if supersedes is None and not state.is_eligible:
        facts = {
            "name": registration.attendee_name,
            "status": state.label.lower(),
            "reason": state.reason,
        }
        if state.reason:
            raise NotEligible(_("%(name)s is not eligible: %(status)s (%(reason)s).") % facts)
        raise NotEligible(_("%(name)s is not eligible: %(status)s.") % facts)
    earned = state.earned
    if not earned:
        raise NotEligible(
            _("%(name)s has earned no CE credit: %(reason)s.")
            % {"name": registration.attendee_name, "reason": state.reason}
        )
    sponsor = sponsor if sponsor is not None else CESponsor.current()
    certificate = _new_certificate(
        registration, earned, sponsor=sponsor, actor=actor, presence=state.presence
    )
    certificate.supersedes = supersedes
    certificate.correction_note = correction_note
    certificate.issue_job = issue_job
    # Rendering takes a second or so: it happens before any row is locked.
    data = render_certificate(certificate, sponsor=sponsor)
    certificate.pdf_path, certificate.pdf_sha256 = pdf.store_pdf(
        data, f"{certificate.code}-{certificate.attendee_name}"
    )
    try:
        saved = _save_issued(certificate, actor=actor, notify=notify)
    except BaseException:
        discard_private_file(certificate.pdf_path, "certificate file")
        raise
    if saved.pk != certificate.pk:
        discard_private_file(certificate.pdf_path, "certificate file")
    return saved


def _new_certificate(registration, earned, *, sponsor, actor, presence=None):
    """The certificate's printed facts, copied from the registration and event (unsaved)."""
    event = registration.event
    if presence is None:
        presence = session_presence(registration)
    home_study = is_recorded(event)
    if home_study:
        completed = home_study_completed_on(registration)
    else:
        completed = last_day_attended(registration, presence) or event.local(event.ends_at).date()
    return Certificate(
        registration=registration,
        event=event,
        attendee=registration.attendee,
        attendee_name=registration.attendee_name,
        licenses=registration_licenses(registration),
        program_title=event.title,
        program_dates=program_dates(event),
        program_format=program_format(event),
        completed_on=completed,
        credits=credit_lines(earned, home_study=home_study),
        presenters=program_presenters(event),
        # The column must hold a figure, but bodies count the same program in different units:
        # nothing presents it. Pages, the PDF and the badge use `Certificate.headline_hours`,
        # which is None unless every body's figure and unit agree.
        total_hours=headline_hours(earned) or max(r.hours for r in earned),
        sponsor_name=sponsor.name if sponsor else settings.WAGTAIL_SITE_NAME,
        issue_date=timezone.localtime(timezone.now(), event.zone).date(),
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _save_issued(certificate, *, actor, notify):
    """Save a rendered certificate under a lock, unless another one became current first.

    Returns the certificate that is current afterwards: this one, or the one that won.
    """
    try:
        return _save_issued_under_lock(certificate, actor=actor, notify=notify)
    except IntegrityError:
        # The one-current-certificate constraint: a racing issue committed first (a database
        # without row locks, or a registration row locked under another name). This
        # transaction is rolled back whole, a reissue's superseding included; the winner
        # stands. (No savepoint around the insert: it costs two round trips every time.)
        if certificate.supersedes is not None:
            raise
        existing = Certificate.objects.filter(
            registration_id=certificate.registration_id, status=CertificateStatus.ISSUED
        ).first()  # the constraint allows one
        if existing is None:
            raise
        return existing


def _save_issued_under_lock(certificate, *, actor, notify):
    superseded = certificate.supersedes
    with transaction.atomic():
        registration = lock_one_reusing_sql(
            "certification.issue.registration",
            lambda: with_certificates_flag(Registration.objects),
            certificate.registration_id,
            of=("self",),
        )
        if superseded is None:
            read_certificates(registration)
            existing = current_certificate(registration)
            if existing is not None:
                return existing
            if registration.status != RegistrationStatus.CONFIRMED:
                raise NotEligible(
                    _("%(name)s is not eligible: the registration is no longer confirmed.")
                    % {"name": registration.attendee_name}
                )
            # Checked again under the lock: a revocation made while the PDF was rendering
            # still stops this certificate.
            revoked = blocking_revocation(registration)
            if revoked is not None:
                raise NotEligible(
                    _("%(name)s is not eligible: %(status)s.")
                    % {"name": registration.attendee_name, "status": revocation_label(revoked)}
                )
        else:
            superseded = lock_one(Certificate, superseded.pk)
            if superseded.status != CertificateStatus.ISSUED:
                raise CEError(_not_reissuable(superseded))
            before = _snapshot(superseded)
            superseded.status = CertificateStatus.SUPERSEDED
            superseded.save(update_fields=["status"])
            certificate.supersedes = superseded
        certificate.save()
        audit.record(
            "certification.certificate.issued",
            certificate,
            actor=actor,
            after=_snapshot(certificate),
            note=certificate.correction_note,
        )
        if superseded is not None:
            audit.record(
                "certification.certificate.superseded",
                superseded,
                actor=actor,
                before=before,
                after={**_snapshot(superseded), "superseded_by": certificate.code},
                note=certificate.correction_note,
            )
        if notify:
            _notify(certificate)
    return certificate


def _not_reissuable(certificate):
    return _("Certificate %(code)s is %(status)s; only a valid certificate can be reissued.") % {
        "code": certificate.code,
        "status": certificate.get_status_display().lower(),
    }


def reissue_certificate(certificate, *, actor, note):
    """Issue a corrected certificate from the current data; the old one becomes superseded."""
    if not note.strip():
        raise CEError(_("Say what the correction is; it is kept with both certificates."))
    certificate = Certificate.objects.select_related("registration").get(pk=certificate.pk)
    if certificate.status != CertificateStatus.ISSUED:
        raise CEError(_not_reissuable(certificate))
    return issue_certificate(
        certificate.registration, actor=actor, supersedes=certificate, correction_note=note
    )


@transaction.atomic
def revoke_certificate(certificate, *, actor, reason):
    if not reason.strip():
        raise CEError(_("Give the reason for revoking; the verification page relies on it."))
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if certificate.status == CertificateStatus.REVOKED:
        return certificate
    before = _snapshot(certificate)
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = timezone.now()
    certificate.revoked_by = actor
    certificate.revoke_reason = reason.strip()
    certificate.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
    audit.record(
        "certification.certificate.revoked",
        certificate,
        actor=actor,
        before=before,
        after=_snapshot(certificate),
        note=reason,
    )
    return certificate


def reinstate_registration(registration, *, actor, reason):
    """Lift the revocation that keeps `registration` from CE: it can be issued again.

    For a CE administrator (the view checks the capability, as for revoking). The revoked
    certificate stays revoked; it records who reinstated the registration, when and why, and
    the audit log keeps the same.
    """
    reason = (reason or "").strip()
    if not reason:
        raise CEError(_("Give the reason for reinstating; it is kept with the revocation."))
    with transaction.atomic():
        registration = lock_one(Registration, registration.pk)
        revoked = list(
            Certificate.objects.select_for_update().filter(
                registration=registration,
                status=CertificateStatus.REVOKED,
                reinstated_at__isnull=True,
            )
        )
        if not revoked:
            raise CEError(
                _("%(name)s has no revoked certificate to reinstate.")
                % {"name": registration.attendee_name}
            )
        now = timezone.now()
        for certificate in revoked:
            certificate.reinstated_at = now
            certificate.reinstated_by = actor if getattr(actor, "is_authenticated", False) else None
            certificate.reinstate_reason = reason
            certificate.save(update_fields=["reinstated_at", "reinstated_by", "reinstate_reason"])
            audit.record(
                "certification.certificate.reinstated",
                certificate,
                actor=actor,
                before={"blocks_registration": True, "revoke_reason": certificate.revoke_reason},
                after={"blocks_registration": False, "registration": registration.pk},
                note=reason,
            )
    return registration


# -- bulk issue -------------------------------------------------------------------------------


@transaction.atomic
def start_issue_job(event, registration_ids, *, actor):
    """Queue a bulk issue for the chosen registrations; progress is kept on the job."""
    ids = sorted({int(pk) for pk in registration_ids})
    if not ids:
        raise CEError(_("Select at least one eligible attendee."))
    job = IssueJob.objects.create(
        event=event, requested_by=actor, registration_ids=ids, total=len(ids)
    )
    audit.record("certification.issue_job.queued", job, actor=actor, after={"count": len(ids)})
    # An outbox row, in this transaction: the job starts once this commits, even if the
    # task queue is down at that moment (the outbox sweep hands it over when it is back).
    enqueue(run_issue_job_task, job.pk, key=f"certification.issue-job:{job.pk}")
    return job


def run_issue_job(job_id):
    """Issue one certificate at a time, each committed on its own, saving progress as it goes.

    Safe to run again: a job whose worker died part-way resumes after the last registration
    whose progress was saved (one that was issued just before the worker died is found
    already issued and not issued twice). The "issued" count is read from the certificates
    that carry this job, so it stays right however often the job is resumed.
    """
    with transaction.atomic():
        job = lock_one(IssueJob, job_id)
        if job.status in (IssueJobStatus.FINISHED, IssueJobStatus.FAILED):
            return job
        if job.status != IssueJobStatus.RUNNING:
            job.status = IssueJobStatus.RUNNING
            job.save(update_fields=["status"])
    job = IssueJob.objects.select_related("event", "requested_by").get(pk=job_id)
    sponsor = CESponsor.current()
    event = event_with_issue_facts(job.event)
    problems = list(job.problems)
    # Each registration's own facts are read just before its turn, a few at a time.
    waiting = registrations_with_issue_facts(event, job.registration_ids[job.done :])
    for done, (pk, registration) in enumerate(waiting, start=job.done + 1):
        try:
            if registration is None:
                raise CEError(_("Registration %(id)s is not part of this event.") % {"id": pk})
            issue_certificate(
                registration,
                actor=job.requested_by,
                sponsor=sponsor,
                issue_job=job,
                event=event,
                facts_read=True,
            )
        except CEError as error:
            problems.append(str(error))
        # Progress only moves forward, so a second copy of the job running late cannot
        # wind it back.
        IssueJob.objects.filter(pk=job.pk, done__lt=done).update(
            done=done, issued=Certificate.objects.filter(issue_job=job).count(), problems=problems
        )
    with transaction.atomic():
        job = lock_one(IssueJob, job.pk)
        if job.status == IssueJobStatus.FINISHED:
            return job
        job.status = IssueJobStatus.FINISHED
        job.issued = Certificate.objects.filter(issue_job=job).count()
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "issued", "finished_at"])
        audit.record(
            "certification.issue_job.finished",
            job,
            actor=job.requested_by,
            after={"issued": job.issued, "problems": len(job.problems)},
        )
    return job


# The registered name is the one the task had in certification/tasks.py: queued messages
# carry it. A worker that dies mid-job gives the message back (acks_late with
# reject_on_worker_lost), and the job resumes where it stopped; a lock that stayed busy
# retries the job later, which is safe for the same reason.
@shared_task(
    name="certification.tasks.run_issue_job",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Busy,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=3000,
    time_limit=3600,
)
def run_issue_job_task(job_id):
    """Issue the certificates of one bulk job (progress is saved as it goes)."""
    run_issue_job(job_id)
