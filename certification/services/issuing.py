"""Issuing, reissuing and revoking CE certificates (one at a time or as a bulk job), and the
facts the certificate prints. The bulk job's Celery task is defined here, beside what it runs.
"""

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms import audit, pdf
from cms.email import send_templated_email

from ..credits import last_day_attended, session_presence
from ..models import (
    Certificate,
    CertificateStatus,
    CESponsor,
    EventCESettings,
    IssueJob,
    IssueJobStatus,
)
from .common import CEError, NotEligible, absolute_url
from .eligibility import EligibilityStatus, current_certificate, eligibility
from .licenses import registration_licenses

CERTIFICATE_TEMPLATE = "certification/pdf/certificate.html"


# -- the certificate's printed facts ----------------------------------------------------------


def program_dates(event):
    sessions = list(event.sessions.all())
    if not sessions:
        return ""
    first = event.local(min(s.start for s in sessions)).date()
    last = event.local(max(s.end for s in sessions)).date()
    if first == last:
        return date_format(first, "F j, Y")
    if (first.year, first.month) == (last.year, last.month):
        # A range within one month: "March 3–5, 2026".
        return _("%(first)s–%(last)s") % {
            "first": date_format(first, "F j"),
            "last": date_format(last, "j, Y"),
        }
    start = date_format(first, "F j" if first.year == last.year else "F j, Y")
    return _("%(first)s – %(last)s") % {"first": start, "last": date_format(last, "F j, Y")}


def program_format(event):
    ce_settings = EventCESettings.objects.filter(event=event).first()
    if ce_settings and ce_settings.is_recorded:
        return _("Home study (recorded program)")
    if event.is_online:
        return _("Live interactive webinar")
    place = ", ".join(
        part for part in [event.venue_name, (event.venue_address or "").replace("\n", ", ")] if part
    )
    return _("In person: %(place)s") % {"place": place} if place else _("In person")


def _credit_lines(results):
    return [
        {
            "body": r.body.name,
            "short_name": r.body.short_name,
            "hours": str(r.hours),
            "unit": _("%(minutes)s-minute hours") % {"minutes": r.body.minutes_per_credit},
            "provider_number": r.body.provider_number,
            "statement": r.body.approval_statement,
            "course_number": r.offering.course_number,
            "body_id": r.body.pk,
            "offering_id": r.offering.pk,
            "sample": r.body.is_sample_data,
        }
        for r in results
    ]


def certificate_context(certificate, *, sponsor=None):
    """What the certificate template prints; built only from the certificate's own record."""
    sponsor = sponsor if sponsor is not None else CESponsor.current()
    signature = ""
    if sponsor and sponsor.signature:
        name = sponsor.signature.name.lower()
        content_type = "image/png" if name.endswith(".png") else "image/jpeg"
        with sponsor.signature.open("rb") as handle:
            signature = pdf.image_data_uri(handle.read(), content_type)
    verify_url = absolute_url(certificate.get_verification_url())
    return {
        "certificate": certificate,
        "credits": certificate.credits,
        "licenses": certificate.licenses,
        "sponsor": sponsor,
        "signature_data_uri": signature,
        "verify_url": verify_url,
        "qr_data_uri": pdf.qr_code_data_uri(verify_url),
        "sample": any(line.get("sample") for line in certificate.credits),
    }


def render_certificate(certificate, *, sponsor=None):
    return pdf.render_pdf(CERTIFICATE_TEMPLATE, certificate_context(certificate, sponsor=sponsor))


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
    )


@transaction.atomic
def issue_certificate(
    registration, *, actor=None, supersedes=None, correction_note="", notify=True, sponsor=None
):
    """Issue the attendee's certificate, or refuse with the reason they are not eligible.

    Issuing twice returns the certificate already issued; a correction goes through
    `reissue_certificate`, which supersedes the old one.
    """
    state = eligibility(registration)
    if state.status == EligibilityStatus.ISSUED and supersedes is None:
        return state.certificate
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
    event = registration.event
    sponsor = sponsor if sponsor is not None else CESponsor.current()
    presence = session_presence(registration)
    completed = last_day_attended(registration, presence) or event.local(event.ends_at).date()
    certificate = Certificate.objects.create(
        registration=registration,
        event=event,
        attendee=registration.attendee,
        attendee_name=registration.attendee_name,
        licenses=registration_licenses(registration),
        program_title=event.title,
        program_dates=program_dates(event),
        program_format=program_format(event),
        completed_on=completed,
        credits=_credit_lines(earned),
        # Bodies count the same program differently; the headline figure is the largest.
        total_hours=max(r.hours for r in earned),
        sponsor_name=sponsor.name if sponsor else settings.WAGTAIL_SITE_NAME,
        issue_date=timezone.localtime(timezone.now(), event.zone).date(),
        issued_by=actor if getattr(actor, "is_authenticated", False) else None,
        supersedes=supersedes,
        correction_note=correction_note,
    )
    data = render_certificate(certificate, sponsor=sponsor)
    certificate.pdf_path, certificate.pdf_sha256 = pdf.store_pdf(
        data, f"{certificate.code}-{certificate.attendee_name}"
    )
    certificate.save(update_fields=["pdf_path", "pdf_sha256"])
    audit.record(
        "certification.certificate.issued",
        certificate,
        actor=actor,
        after=_snapshot(certificate),
        note=correction_note,
    )
    if notify:
        _notify(certificate)
    return certificate


@transaction.atomic
def reissue_certificate(certificate, *, actor, note):
    """Issue a corrected certificate from the current data; the old one becomes superseded."""
    if not note.strip():
        raise CEError(_("Say what the correction is; it is kept with both certificates."))
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if certificate.status != CertificateStatus.ISSUED:
        raise CEError(
            _("Certificate %(code)s is %(status)s; only a valid certificate can be reissued.")
            % {"code": certificate.code, "status": certificate.get_status_display().lower()}
        )
    before = _snapshot(certificate)
    certificate.status = CertificateStatus.SUPERSEDED
    certificate.save(update_fields=["status"])
    replacement = issue_certificate(
        certificate.registration, actor=actor, supersedes=certificate, correction_note=note
    )
    audit.record(
        "certification.certificate.superseded",
        certificate,
        actor=actor,
        before=before,
        after={**_snapshot(certificate), "superseded_by": replacement.code},
        note=note,
    )
    return replacement


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


# -- bulk issue -------------------------------------------------------------------------------


def start_issue_job(event, registration_ids, *, actor):
    """Queue a bulk issue for the chosen registrations; progress is kept on the job."""
    ids = sorted({int(pk) for pk in registration_ids})
    if not ids:
        raise CEError(_("Select at least one eligible attendee."))
    job = IssueJob.objects.create(
        event=event, requested_by=actor, registration_ids=ids, total=len(ids)
    )
    audit.record("certification.issue_job.queued", job, actor=actor, after={"count": len(ids)})
    transaction.on_commit(lambda: run_issue_job_task.delay(job.pk))
    return job


def run_issue_job(job_id):
    """Issue one certificate at a time, each in its own transaction, updating the progress."""
    job = IssueJob.objects.select_related("event", "requested_by").get(pk=job_id)
    if job.status in (IssueJobStatus.FINISHED, IssueJobStatus.FAILED):
        return job
    job.status = IssueJobStatus.RUNNING
    job.save(update_fields=["status"])
    registrations = {
        r.pk: r
        for r in job.event.registrations.filter(pk__in=job.registration_ids).select_related(
            "event", "attendee"
        )
    }
    sponsor = CESponsor.current()
    problems = list(job.problems)
    issued = 0
    for done, pk in enumerate(job.registration_ids, start=1):
        registration = registrations.get(pk)
        try:
            if registration is None:
                raise CEError(_("Registration %(id)s is not part of this event.") % {"id": pk})
            already = current_certificate(registration)
            certificate = issue_certificate(registration, actor=job.requested_by, sponsor=sponsor)
            if already is None or already.pk != certificate.pk:
                issued += 1
        except CEError as error:
            problems.append(str(error))
        IssueJob.objects.filter(pk=job.pk).update(done=done, issued=issued, problems=problems)
    job.refresh_from_db()
    job.status = IssueJobStatus.FINISHED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])
    audit.record(
        "certification.issue_job.finished",
        job,
        actor=job.requested_by,
        after={"issued": job.issued, "problems": len(job.problems)},
    )
    return job


# The registered name is the one the task had in certification/tasks.py: queued messages
# carry it.
@shared_task(
    name="certification.tasks.run_issue_job", acks_late=True, soft_time_limit=3000, time_limit=3600
)
def run_issue_job_task(job_id):
    """Issue the certificates of one bulk job (progress is saved as it goes)."""
    run_issue_job(job_id)
