"""CE flows: eligibility, issuing, reissuing and revoking certificates, evaluations, licenses.

The one place that changes CE state; views, the admin, tasks and the demo call these.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from cms import audit, pdf
from courses.models import RegistrationStatus

from .credits import credits_for_registration, last_day_attended, session_presence
from .models import (
    Certificate,
    CertificateStatus,
    CESponsor,
    EvaluationAnswer,
    EvaluationResponse,
    EventCESettings,
    IssueJob,
    IssueJobStatus,
    License,
    QuestionKind,
    RegistrationLicense,
)

CERTIFICATE_TEMPLATE = "certification/pdf/certificate.html"


class CEError(Exception):
    """A CE action that cannot be done; the message says why and what to do."""


class NotEligible(CEError):
    pass


# -- eligibility ------------------------------------------------------------------------------

ELIGIBLE = "eligible"
ISSUED = "issued"
MISSING_EVALUATION = "missing_evaluation"
SHORT_ATTENDANCE = "short_attendance"
CE_FEE_UNPAID = "ce_fee_unpaid"
NOT_CONFIRMED = "not_confirmed"
NO_CE_OFFERED = "no_ce_offered"
UPCOMING = "upcoming"
IN_PROGRESS = "in_progress"

STATUS_LABELS = {
    ELIGIBLE: "Eligible",
    ISSUED: "Certificate issued",
    MISSING_EVALUATION: "Missing evaluation",
    SHORT_ATTENDANCE: "Short attendance",
    CE_FEE_UNPAID: "CE fee unpaid",
    NOT_CONFIRMED: "Registration not confirmed",
    NO_CE_OFFERED: "No CE credit",
    UPCOMING: "Upcoming",
    IN_PROGRESS: "In progress",
}


@dataclass
class Eligibility:
    registration: object
    status: str
    reason: str = ""
    credits: list = field(default_factory=list)
    certificate: object = None

    @property
    def label(self):
        return STATUS_LABELS[self.status]

    @property
    def is_eligible(self):
        return self.status == ELIGIBLE

    @property
    def earned(self):
        return [c for c in self.credits if c.hours > 0]

    @property
    def total_hours(self):
        return sum((c.hours for c in self.earned), Decimal("0"))


def ce_fee_paid(registration):
    """Whether the attendee has the CE add-on (or asked for CE where it costs nothing).

    Payments can replace this check (e.g. an unpaid invoice) by naming its own function in
    the CERTIFICATION_CE_FEE_CHECK setting; certification never imports payments.
    """
    hook = getattr(settings, "CERTIFICATION_CE_FEE_CHECK", None)
    if hook:
        return bool(import_string(hook)(registration))
    ce_add_ons = [a for a in registration.event.add_ons.all() if a.grants_ce]
    if not ce_add_ons:
        return registration.wants_ce
    chosen = {line.add_on_id for line in registration.add_on_lines.all()}
    return any(a.pk in chosen for a in ce_add_ons)


def asked_for_ce():
    """Registrations that asked for CE: the "wants CE" box, or a CE add-on where one is sold."""
    return Q(wants_ce=True) | Q(add_on_lines__add_on__grants_ce=True)


def current_certificate(registration):
    return (
        registration.certificates.filter(status=CertificateStatus.ISSUED)
        .order_by("-issued_at")
        .first()
    )


def has_evaluation(registration):
    return EvaluationResponse.objects.filter(registration=registration).exists()


def eligibility(registration, *, now=None):
    """Where the attendee stands for a certificate, and why."""
    certificate = current_certificate(registration)
    credits = credits_for_registration(registration, now=now)
    if certificate is not None:
        return Eligibility(registration, ISSUED, "", credits, certificate)
    if registration.status != RegistrationStatus.CONFIRMED:
        return Eligibility(registration, NOT_CONFIRMED, "The registration is not confirmed.")
    if not ce_fee_paid(registration):
        return Eligibility(
            registration,
            CE_FEE_UNPAID,
            "The CE add-on was not bought (or not paid) with this registration.",
            credits,
        )
    earned = [c for c in credits if c.hours > 0]
    if not credits:
        return Eligibility(registration, NO_CE_OFFERED, "This event offers no CE credit.", credits)
    # Attendance is only complete once the last session has ended: before then a missing
    # session is one still to come, not one missed.
    now = now or timezone.now()
    event = registration.event
    if event.ends_at is None or event.ends_at > now:
        started = event.starts_at is not None and event.starts_at <= now
        return Eligibility(
            registration,
            IN_PROGRESS if started else UPCOMING,
            "CE is assessed after the event.",
            credits,
        )
    if not earned:
        return Eligibility(registration, SHORT_ATTENDANCE, credits[0].reason, credits)
    if any(c.body.evaluation_required for c in earned) and not has_evaluation(registration):
        return Eligibility(
            registration,
            MISSING_EVALUATION,
            "The evaluation has not been submitted.",
            credits,
        )
    partial = "; ".join(f"{c.body}: {c.reason}" for c in credits if c.reason and not c.full)
    return Eligibility(registration, ELIGIBLE, partial, credits)


def event_roster(event, *, now=None):
    """Eligibility for each confirmed registration of the event that asked for CE."""
    registrations = (
        event.registrations.filter(status=RegistrationStatus.CONFIRMED)
        .select_related("event", "attendee")
        .prefetch_related("attendances", "add_on_lines", "event__sessions", "event__add_ons")
        .order_by("attendee_name")
    )
    return [eligibility(r, now=now) for r in registrations]


# -- the certificate's printed facts ----------------------------------------------------------


def registration_licenses(registration):
    """The licenses printed on the certificate: those chosen, else the one typed at registration."""
    chosen = [
        {
            "profession": link.license.profession,
            "jurisdiction": link.license.jurisdiction,
            "number": link.license.number,
        }
        for link in registration.ce_licenses.select_related("license").order_by(
            "license__jurisdiction"
        )
    ]
    if chosen:
        return chosen
    if registration.license_number:
        return [
            {
                "profession": registration.profession,
                "jurisdiction": registration.license_jurisdiction,
                "number": registration.license_number,
            }
        ]
    return []


def program_dates(event):
    sessions = list(event.sessions.all())
    if not sessions:
        return ""
    first = event.local(min(s.start for s in sessions)).date()
    last = event.local(max(s.end for s in sessions)).date()
    if first == last:
        return f"{first:%B} {first.day}, {first.year}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%B} {first.day}–{last.day}, {first.year}"
    if first.year == last.year:
        return f"{first:%B} {first.day} – {last:%B} {last.day}, {first.year}"
    return f"{first:%B} {first.day}, {first.year} – {last:%B} {last.day}, {last.year}"


def program_format(event):
    ce_settings = EventCESettings.objects.filter(event=event).first()
    if ce_settings and ce_settings.is_recorded:
        return "Home study (recorded program)"
    if event.is_online:
        return "Live interactive webinar"
    place = ", ".join(
        part for part in [event.venue_name, (event.venue_address or "").replace("\n", ", ")] if part
    )
    return f"In person: {place}" if place else "In person"


def _credit_lines(results):
    return [
        {
            "body": r.body.name,
            "short_name": r.body.short_name,
            "hours": str(r.hours),
            "unit": f"{r.body.minutes_per_credit}-minute hours",
            "provider_number": r.body.provider_number,
            "statement": r.body.approval_statement,
            "course_number": r.offering.course_number,
            "body_id": r.body.pk,
            "offering_id": r.offering.pk,
            "sample": r.body.is_sample_data,
        }
        for r in results
    ]


def absolute_url(path):
    return f"{settings.SITE_URL}{path}"


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
    return f"CE certificate {certificate.attendee_name} {certificate.code}.pdf"


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
    link = absolute_url(certificate.get_absolute_url())
    body = render_to_string(
        "certification/email/certificate_issued.txt",
        {
            "certificate": certificate,
            "link": link,
            "verify_url": absolute_url(certificate.get_verification_url()),
        },
    )
    recipient = (
        certificate.attendee.email
        if certificate.attendee_id
        else certificate.registration.attendee_email
    )
    send_mail(
        f"Your CE certificate: {certificate.program_title}",
        body,
        None,
        [recipient],
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
    if state.status == ISSUED and supersedes is None:
        return state.certificate
    if supersedes is None and not state.is_eligible:
        raise NotEligible(
            f"{registration.attendee_name} is not eligible: {state.label.lower()}"
            + (f" ({state.reason})." if state.reason else ".")
        )
    earned = state.earned
    if not earned:
        raise NotEligible(f"{registration.attendee_name} has earned no CE credit: {state.reason}.")
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
        transaction.on_commit(lambda: _notify(certificate))
    return certificate


@transaction.atomic
def reissue_certificate(certificate, *, actor, note):
    """Issue a corrected certificate from the current data; the old one becomes superseded."""
    if not note.strip():
        raise CEError("Say what the correction is; it is kept with both certificates.")
    certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
    if certificate.status != CertificateStatus.ISSUED:
        raise CEError(
            f"Certificate {certificate.code} is {certificate.get_status_display().lower()}; "
            "only a valid certificate can be reissued."
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
        raise CEError("Give the reason for revoking; the verification page relies on it.")
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


def start_issue_job(event, registration_ids, *, actor):
    """Queue a bulk issue for the chosen registrations; progress is kept on the job."""
    from .tasks import run_issue_job

    ids = sorted({int(pk) for pk in registration_ids})
    if not ids:
        raise CEError("Select at least one eligible attendee.")
    job = IssueJob.objects.create(
        event=event, requested_by=actor, registration_ids=ids, total=len(ids)
    )
    audit.record("certification.issue_job.queued", job, actor=actor, after={"count": len(ids)})
    transaction.on_commit(lambda: run_issue_job.delay(job.pk))
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
                raise CEError(f"Registration {pk} is not part of this event.")
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


# -- evaluations ------------------------------------------------------------------------------


def evaluation_is_open(event, now=None):
    ce_settings = EventCESettings.objects.filter(event=event).first()
    if ce_settings:
        return ce_settings.evaluation_is_open(now)
    now = now or timezone.now()
    last = event.sessions.order_by("-start").first()
    return last is None or now >= last.start


@transaction.atomic
def submit_evaluation(registration, answers, *, actor):
    """Store the attendee's evaluation (once); issue the certificate if the event says so.

    `answers` maps question id to the cleaned value (int rating, choice string or text).
    """
    if EvaluationResponse.objects.filter(registration=registration).exists():
        raise CEError("You have already submitted the evaluation for this event. Thank you.")
    response = EvaluationResponse.objects.create(
        registration=registration, event=registration.event
    )
    for question in registration.event.evaluation_questions.all():
        value = answers.get(question.pk)
        if value in (None, ""):
            continue
        answer = EvaluationAnswer(response=response, question=question)
        if question.kind == QuestionKind.RATING:
            answer.rating = int(value)
        elif question.kind == QuestionKind.OBJECTIVE:
            answer.choice = str(value)
        else:
            answer.text = str(value)
        answer.save()
    audit.record("certification.evaluation.submitted", response, actor=actor)
    certificate = None
    ce_settings = EventCESettings.objects.filter(event=registration.event).first()
    if (
        ce_settings
        and ce_settings.auto_issue_on_evaluation
        and eligibility(registration).is_eligible
    ):
        certificate = issue_certificate(registration, actor=actor)
    return response, certificate


# -- licenses ---------------------------------------------------------------------------------


def _license_snapshot(license_):
    return {
        "profession": license_.profession,
        "jurisdiction": license_.jurisdiction,
        "number": license_.number,
        "expires_on": license_.expires_on.isoformat() if license_.expires_on else None,
    }


@transaction.atomic
def save_license(license_, *, actor):
    created = license_.pk is None
    before = {} if created else _license_snapshot(License.objects.get(pk=license_.pk))
    license_.save()
    audit.record(
        "certification.license.added" if created else "certification.license.changed",
        license_,
        actor=actor,
        before=before,
        after=_license_snapshot(license_),
    )
    return license_


@transaction.atomic
def delete_license(license_, *, actor):
    audit.record(
        "certification.license.removed", license_, actor=actor, before=_license_snapshot(license_)
    )
    license_.delete()


@transaction.atomic
def set_registration_licenses(registration, licenses, *, actor):
    """Record which of the attendee's licenses this registration's CE is for."""
    owner_id = registration.attendee_id
    if any(license_.user_id != owner_id for license_ in licenses):
        raise CEError("Only your own licenses can be chosen.")
    before = sorted(registration.ce_licenses.values_list("license_id", flat=True))
    registration.ce_licenses.exclude(license__in=licenses).delete()
    for license_ in licenses:
        RegistrationLicense.objects.get_or_create(registration=registration, license=license_)
    audit.record(
        "certification.registration.licenses_chosen",
        registration,
        actor=actor,
        before={"licenses": before},
        after={"licenses": sorted(license_.pk for license_ in licenses)},
    )


def certificate_links(certificate):
    return {
        "page": absolute_url(reverse("certification:certificate_detail", args=[certificate.code])),
        "verify": absolute_url(certificate.get_verification_url()),
    }
