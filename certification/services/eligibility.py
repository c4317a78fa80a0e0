"""Where an attendee stands for a CE certificate, and why."""

from dataclasses import dataclass, field

from django.db import models
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from courses.models import Registration, RegistrationStatus

from ..credits import credits_for_registration, headline_hours, is_recorded, session_presence
from ..models import CEOffering, Certificate, CertificateStatus, EvaluationResponse


class EligibilityStatus(models.TextChoices):
    ELIGIBLE = "eligible", pgettext_lazy("CE eligibility", "Eligible")
    ISSUED = "issued", pgettext_lazy("CE eligibility", "Certificate issued")
    MISSING_EVALUATION = "missing_evaluation", pgettext_lazy("CE eligibility", "Missing evaluation")
    SHORT_ATTENDANCE = "short_attendance", pgettext_lazy("CE eligibility", "Short attendance")
    CE_FEE_UNPAID = "ce_fee_unpaid", pgettext_lazy("CE eligibility", "CE fee unpaid")
    NOT_CONFIRMED = "not_confirmed", pgettext_lazy("CE eligibility", "Registration not confirmed")
    NO_CE_OFFERED = "no_ce_offered", pgettext_lazy("CE eligibility", "No CE credit")
    UPCOMING = "upcoming", pgettext_lazy("CE eligibility", "Upcoming")
    IN_PROGRESS = "in_progress", pgettext_lazy("CE eligibility", "In progress")
    REVOKED = "revoked", pgettext_lazy("CE eligibility", "Revoked")


ES = EligibilityStatus
# The names views and tests use.
ELIGIBLE = ES.ELIGIBLE
CE_FEE_UNPAID = ES.CE_FEE_UNPAID
STATUS_LABELS = dict(ES.choices)


@dataclass
class Eligibility:
    registration: object
    status: str
    reason: str = ""
    credits: list = field(default_factory=list)
    certificate: object = None
    # The attendee's minutes per session, as the credits were counted from them.
    presence: list = None
    # REVOKED: the revoked certificate that blocks the registration until it is reinstated.
    revocation: object = None

    @property
    def label(self):
        """The status for staff; a revocation says why, by whom and when."""
        if self.status == ES.REVOKED and self.revocation is not None:
            return revocation_label(self.revocation)
        return STATUS_LABELS[self.status]

    @property
    def status_label(self):
        """The status in one or two words, for the attendee ("Revoked")."""
        return STATUS_LABELS[self.status]

    @property
    def credit_is_known(self):
        """Whether the per-body credit is final enough to show the attendee (the event is
        over and nothing but the evaluation, or nothing at all, stands in the way)."""
        return self.status in (ES.ELIGIBLE, ES.MISSING_EVALUATION, ES.SHORT_ATTENDANCE)

    @property
    def headline_hours(self):
        """One total only when every body's figure and unit agree (else None)."""
        return headline_hours(self.credits)

    @property
    def shortfalls(self):
        """The attendance facts behind any short credit, each once, in schedule order
        (several bodies short for the same missed session say it once)."""
        seen = []
        for credit in self.credits:
            if not credit.full:
                seen += [fact for fact in credit.shortfalls if fact not in seen]
        return seen

    @property
    def is_eligible(self):
        return self.status == ES.ELIGIBLE

    @property
    def earned(self):
        return [c for c in self.credits if c.hours > 0]


def ce_fee_problem(registration):
    """Why the attendee has no paid-for CE, or "" when they have it.

    Where the event sells a CE add-on, the registration must carry it, and (unless it cost
    nothing) its booking must be paid: `Booking.paid_at`, which payments sets when the order
    is paid (and clears on a full refund) and courses sets when a free booking is confirmed.
    An add-on ticked on an unpaid invoice grants nothing until the invoice is paid. Where
    CE costs nothing, the "wants CE" box is enough.
    """
    ce_add_ons = {a.pk for a in registration.event.add_ons.all() if a.grants_ce}
    not_bought = _("The CE add-on was not bought (or not paid) with this registration.")
    if not ce_add_ons:
        return "" if registration.wants_ce else not_bought
    lines = [line for line in registration.add_on_lines.all() if line.add_on_id in ce_add_ons]
    if not lines:
        return not_bought
    if all(line.unit_price == 0 for line in lines) or registration.booking.paid_at:
        return ""
    return _("The CE add-on is not paid yet: the booking's payment has not been received.")


def ce_fee_paid(registration):
    """Whether the attendee has the CE add-on, paid for (or asked for CE where it is free)."""
    return not ce_fee_problem(registration)


def asked_for_ce():
    """Registrations that asked for CE: the "wants CE" box, or a CE add-on where one is sold."""
    return Q(wants_ce=True) | Q(add_on_lines__add_on__grants_ce=True)


def revocation_label(certificate):
    """ "Revoked (did not attend days 3–5, by Sam Staff, 3 Mar 2026, 2:15 PM)"."""
    who = certificate.revoked_by.legal_name if certificate.revoked_by_id else ""
    who = who or (certificate.revoked_by.email if certificate.revoked_by_id else _("staff"))
    when = certificate.revoked_at
    if when is not None:
        when = date_format(certificate.event.local(when), "j M Y, g:i A")
    return _("Revoked (%(reason)s, by %(who)s, %(when)s)") % {
        "reason": certificate.revoke_reason or _("no reason recorded"),
        "who": who,
        "when": when or _("date not recorded"),
    }


def blocking_revocation(registration):
    """The revoked certificate that keeps the registration from CE, or None.

    A revocation sticks: the registration gets no new certificate (by hand, bulk issue or
    auto-issue) until a CE administrator reinstates it with a reason (`reinstated_at`).
    """
    revoked = getattr(registration, "blocking_revocations", None)
    if revoked is not None:  # read with the registration (`with_eligibility_facts`)
        return revoked[0] if revoked else None
    return (
        registration.certificates.filter(
            status=CertificateStatus.REVOKED, reinstated_at__isnull=True
        )
        .select_related("revoked_by", "event")
        .order_by("-revoked_at", "-pk")
        .first()
    )


def current_certificate(registration):
    issued = getattr(registration, "issued_certificates", None)
    if issued is not None:  # read with the registration (`with_eligibility_facts`)
        return issued[0] if issued else None
    return (
        registration.certificates.filter(status=CertificateStatus.ISSUED)
        .order_by("-issued_at")
        .first()
    )


def has_evaluation(registration):
    if Registration.evaluation.is_cached(registration):
        try:
            return registration.evaluation is not None
        except EvaluationResponse.DoesNotExist:
            return False
    return EvaluationResponse.objects.filter(registration=registration).exists()


def with_eligibility_facts(registrations):
    """`registrations` with everything `eligibility` reads, in a fixed number of queries.

    For a page or job that asks for many attendees' eligibility at once: without it each
    registration costs about nine queries of its own.
    """
    return registrations.select_related(
        "event", "event__ce_settings", "booking", "attendee", "evaluation"
    ).prefetch_related(
        "attendances",
        "add_on_lines",
        "event__sessions",
        "event__add_ons",
        "event__evaluation_questions",
        Prefetch(
            "event__ce_offerings",
            queryset=CEOffering.objects.select_related("body").order_by("body__short_name"),
        ),
        Prefetch(
            "certificates",
            queryset=Certificate.objects.filter(status=CertificateStatus.ISSUED).order_by(
                "-issued_at"
            ),
            to_attr="issued_certificates",
        ),
        Prefetch(
            "certificates",
            queryset=Certificate.objects.filter(
                status=CertificateStatus.REVOKED, reinstated_at__isnull=True
            )
            .select_related("revoked_by", "event")
            .order_by("-revoked_at", "-pk"),
            to_attr="blocking_revocations",
        ),
    )


def eligibility(registration, *, now=None):
    """Where the attendee stands for a certificate, and why."""
    presence = session_presence(registration, now=now)
    state = _eligibility(registration, presence, now=now)
    state.presence = presence
    return state


def _eligibility(registration, presence, *, now=None):
    certificate = current_certificate(registration)
    credits = credits_for_registration(registration, now=now, presence=presence)
    if certificate is not None:
        return Eligibility(registration, ES.ISSUED, "", credits, certificate)
    revoked = blocking_revocation(registration)
    if revoked is not None:
        return Eligibility(
            registration,
            ES.REVOKED,
            _(
                "Certificate %(code)s was revoked: %(reason)s. No new certificate is issued "
                "until a CE administrator reinstates this registration."
            )
            % {"code": revoked.code, "reason": revoked.revoke_reason or _("no reason recorded")},
            credits,
            revoked,
            revocation=revoked,
        )
    if registration.status != RegistrationStatus.CONFIRMED:
        return Eligibility(registration, ES.NOT_CONFIRMED, _("The registration is not confirmed."))
    fee_problem = ce_fee_problem(registration)
    if fee_problem:
        return Eligibility(registration, ES.CE_FEE_UNPAID, fee_problem, credits)
    earned = [c for c in credits if c.hours > 0]
    if not credits:
        return Eligibility(
            registration, ES.NO_CE_OFFERED, _("This event offers no CE credit."), credits
        )
    # Attendance is only complete once the last session has ended: before then a missing
    # session is one still to come, not one missed. A recorded program (home study) has no
    # end: it is assessed whenever its conditions are met.
    now = now or timezone.now()
    event = registration.event
    if not is_recorded(event) and (event.ends_at is None or event.ends_at > now):
        started = event.starts_at is not None and event.starts_at <= now
        return Eligibility(
            registration,
            ES.IN_PROGRESS if started else ES.UPCOMING,
            _("CE is assessed after the event."),
            credits,
        )
    if not earned:
        return Eligibility(registration, ES.SHORT_ATTENDANCE, credits[0].reason, credits)
    if any(c.body.evaluation_required for c in earned) and not has_evaluation(registration):
        return Eligibility(
            registration,
            ES.MISSING_EVALUATION,
            _("The evaluation has not been submitted."),
            credits,
        )
    partial = "; ".join(
        _("%(body)s: %(reason)s") % {"body": c.body, "reason": c.reason}
        for c in credits
        if c.reason and not c.full
    )
    return Eligibility(registration, ES.ELIGIBLE, partial, credits)


def event_roster(event, *, now=None):
    """Eligibility for each confirmed registration of the event that asked for CE."""
    registrations = with_eligibility_facts(
        event.registrations.filter(status=RegistrationStatus.CONFIRMED)
    ).order_by("attendee_name")
    return [eligibility(r, now=now) for r in registrations]
