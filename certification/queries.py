"""What the CE side tells people before they buy, and what CE staff must fix first.

Reads only: the approvals an event page and registration summary show for each body (the
approval statement, provider and course numbers, hours in that body's unit and its
attendance policy in plain words), whether an event offers or promises CE without a CE
offering (which the publish refusal and the CE dashboard use), and the CE Broker counts per
event for the dashboard.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cms.money import format_money
from courses.models import EventPage

from .credits import body_hours, ce_settings_of
from .models import CEOffering, Certificate, CertificateStatus, CreditBasis
from .rosters import ce_broker_roster

# How long after an event ends the CE dashboard still lists it as missing its offering.
MISSING_OFFERING_LOOKBACK = timedelta(days=90)


def hours_text(hours):
    """Decimal("27.00") -> "27", Decimal("1.50") -> "1.5", Decimal("0.25") -> "0.25"."""
    value = Decimal(hours or 0).quantize(Decimal("0.01"))
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def hours_with_unit(hours, body):
    """ "27 hours (60-minute hours)": each body's figure in its own unit, never mixed."""
    return ngettext(
        "%(hours)s hour (%(minutes)s-minute hours)",
        "%(hours)s hours (%(minutes)s-minute hours)",
        1 if Decimal(hours) == 1 else 2,
    ) % {"hours": hours_text(hours), "minutes": body.minutes_per_credit}


def policy_sentences(body):
    """The body's attendance and partial-credit rules, as an attendee should read them."""
    grace = body.late_grace_minutes
    if body.credit_basis == CreditBasis.FULL_PROGRAM:
        sentences = [_("Credit only for attending the whole program; no partial credit.")]
    elif body.credit_basis == CreditBasis.PER_HOUR:
        sentences = [
            _(
                "Credit for the time you attend, counted in %(minutes)s-minute hours and "
                "rounded down to %(step)s hours."
            )
            % {"minutes": body.minutes_per_credit, "step": hours_text(body.credit_increment)}
        ]
    else:
        sentences = [
            _("Credit for each session you attend in full; none for a session you miss part of.")
        ]
    if grace:
        sentences.append(
            ngettext(
                "Missing up to %(minutes)s minute of a session in total (arriving late and "
                "leaving early together) still counts as attending it in full.",
                "Missing up to %(minutes)s minutes of a session in total (arriving late and "
                "leaving early together) still counts as attending it in full.",
                grace,
            )
            % {"minutes": grace}
        )
    else:
        sentences.append(
            _("Arriving late or leaving early, even by a minute, counts as missing the session.")
        )
    if body.evaluation_required:
        sentences.append(_("You must complete the program evaluation to receive a certificate."))
    return sentences


def home_study_policy_sentences(body, *, has_post_test):
    """What a recorded program (home study) asks under this body, as an attendee should read
    it: no attendance rules, but the share watched, the post-test and the evaluation."""
    conditions = []
    if body.home_study_watched_percent:
        conditions.append(
            _("watched at least %(percent)s%% of the recordings")
            % {"percent": body.home_study_watched_percent}
        )
    if has_post_test or body.posttest_required_for_recorded:
        conditions.append(_("passed the post-test"))
    conditions.append(_("submitted the program evaluation"))
    listed = ", ".join(conditions[:-1])
    listed = (
        _("%(first)s and %(last)s") % {"first": listed, "last": conditions[-1]}
        if listed
        else conditions[-1]
    )
    sentences = [
        _("Credit for the whole program once you have %(conditions)s.") % {"conditions": listed}
    ]
    if body.home_study_watched_percent:
        sentences.append(_("Skipping ahead in a recording does not count as watching it."))
    return sentences


@dataclass
class Approval:
    """One body's approval as shown to people before they buy."""

    body_name: str
    short_name: str
    statement: str
    provider_number: str
    course_number: str
    hours: str  # e.g. "27 hours (60-minute hours)"
    professions: str
    policy: list = field(default_factory=list)
    home_study: bool = False  # the policy is home study's, not attendance's


@dataclass
class CEFee:
    """An add-on that grants CE, and what it costs ("$75.00")."""

    name: str
    price: str


@dataclass
class CEOffer:
    """Everything the event page says about CE: approvals in body order, and the CE fee."""

    approvals: list = field(default_factory=list)
    fees: list = field(default_factory=list)  # CEFee for each add-on that grants CE

    def __bool__(self):
        return bool(self.approvals or self.fees)


def _approval(offering, *, home_study=False, has_post_test=False):
    """What the event page says of one approval; a recorded program (home study) states the
    body's home-study approval and conditions, as its certificate does."""
    body = offering.body
    if home_study:
        policy = home_study_policy_sentences(body, has_post_test=has_post_test)
    else:
        policy = policy_sentences(body)
    return Approval(
        body_name=body.name,
        short_name=body.short_name,
        statement=(home_study and offering.home_study_statement) or body.approval_statement,
        provider_number=body.provider_number,
        course_number=offering.course_number,
        hours=hours_with_unit(body_hours(offering.hours, body), body),
        professions=offering.professions or body.professions,
        policy=policy,
        home_study=home_study,
    )


def ce_offer(event, add_ons=None):
    """The approvals (one query, offerings with their bodies in body order) and the CE fees.

    `add_ons`: the event's add-ons when the caller has them (the event page's data);
    otherwise they are read. Approvals not in effect on the program's first day are left
    out, and so are those needing a post-test for a recorded program that has none: they
    would give no credit, so they must not be advertised.
    """
    if event.pk is None:
        return CEOffer()
    offerings = CEOffering.objects.filter(event_id=event.pk).select_related("body")
    first_day = event.local(event.starts_at).date() if event.starts_at else None
    settings = ce_settings_of(event)
    home_study = bool(settings and settings.is_recorded)
    approvals = []
    for offering in offerings.order_by("body__short_name", "pk"):
        body = offering.body
        if first_day and not body.is_approved_on(first_day):
            continue
        if body.posttest_required_for_recorded and home_study and not settings.post_test_id:
            # A recording needs a passed post-test under this body's rules: a recorded
            # program without one could never give its credit.
            continue
        approvals.append(
            _approval(
                offering,
                home_study=home_study,
                has_post_test=bool(settings and settings.post_test_id),
            )
        )
    if add_ons is None:
        add_ons = event.add_ons.all()
    fees = [CEFee(add_on.name, _fee(add_on, event)) for add_on in add_ons if add_on.grants_ce]
    return CEOffer(approvals, fees)


def _fee(add_on, event):
    return format_money(add_on.price, event.currency) if add_on.price else _("free")


def _has_text(rich_text):
    """Whether rich text says anything: the editor saves an emptied field as "<p></p>"."""
    return bool(strip_tags(rich_text or "").strip())


def ce_promises(event):
    """Why `event` offers or promises CE, in words ("sells the CE add-on “CE units” for
    $75.00"); empty when it does not. Works on an unsaved form's page too: it reads the
    add-ons and sessions as the editor submitted them."""
    reasons = []
    for add_on in event.add_ons.all():
        if add_on.grants_ce:
            reasons.append(
                _("sells the CE add-on “%(name)s” for %(price)s")
                % {"name": add_on.name, "price": _fee(add_on, event)}
            )
    minutes = sum(session.ce_minutes or 0 for session in event.sessions.all())
    if minutes:
        reasons.append(
            ngettext(
                "counts %(minutes)s CE minute in its schedule",
                "counts %(minutes)s CE minutes in its schedule",
                minutes,
            )
            % {"minutes": minutes}
        )
    if _has_text(event.ce_summary):
        reasons.append(_("describes CE in its CE summary"))
    return reasons


def missing_offering_message(event, reasons, *, draft_kept=True):
    """What stops publishing, and what to do about it, in one paragraph for the editor."""
    undo = []
    if any(add_on.grants_ce for add_on in event.add_ons.all()):
        undo.append(_("remove the CE add-on"))
    if any(session.ce_minutes for session in event.sessions.all()):
        undo.append(_("set the sessions' CE minutes to 0"))
    if _has_text(event.ce_summary):
        undo.append(_("empty the CE summary"))
    message = _(
        "“%(event)s” was not published: it %(reasons)s, but it has no CE offering, so no CE "
        "certificate could ever be issued for it. Add a CE offering for this event under "
        "CE setup › CE offerings, or %(undo)s, before publishing."
    ) % {
        "event": event.title,
        "reasons": _(", and ").join(reasons),
        "undo": _(" and ").join(undo) or _("remove what promises CE"),
    }
    if draft_kept:
        message += " " + _("Your changes are saved as a draft.")
    return message


def has_offering(event):
    return event.pk is not None and CEOffering.objects.filter(event_id=event.pk).exists()


@dataclass
class MissingOffering:
    event: object
    reasons: list

    @property
    def sells_ce(self):
        return any(add_on.grants_ce for add_on in self.event.add_ons.all())

    @property
    def label(self):
        """ "FIT Supervision Training sells the CE add-on … but has no CE offering – …"."""
        if self.sells_ce:
            consequence = _("certificates cannot be issued to the attendees who pay for CE")
        else:
            consequence = _("certificates cannot be issued")
        return _("%(event)s %(reasons)s but has no CE offering – %(consequence)s") % {
            "event": self.event.title,
            "reasons": _(", and ").join(self.reasons),
            "consequence": consequence,
        }


def events_missing_offerings(now=None):
    """Live events that sell CE or promise CE hours without any CE offering, soonest first
    (two queries: the events, then their add-ons and sessions together)."""
    now = now or timezone.now()
    promises = Q(add_ons__grants_ce=True) | Q(sessions__ce_minutes__gt=0) | ~Q(ce_summary="")
    recent = Q(ends_at__isnull=True) | Q(ends_at__gte=now - MISSING_OFFERING_LOOKBACK)
    events = (
        EventPage.objects.live()
        .filter(promises, recent, ce_offerings__isnull=True)
        .distinct()
        .order_by("starts_at", "pk")
        .prefetch_related("add_ons", "sessions")
    )
    missing = [MissingOffering(event, ce_promises(event)) for event in events]
    return [item for item in missing if item.reasons]


@dataclass
class BrokerCounts:
    """Licensees of one event for CE Broker: reported, waiting to be reported, refused."""

    reported: int = 0
    pending: int = 0
    refused: int = 0
    blocked: bool = False  # something stops the whole export until fixed


def ce_broker_counts(events):
    """{event id: BrokerCounts} over the event's CE Broker bodies, counted as the roster
    page counts them (`rosters.ce_broker_roster`): a licensee sharing a license number, with
    a malformed one or with hours but no subject code is refused, like one the roster leaves
    out with a reason.

    Rosters are built only for the CE Broker bodies of events with issued certificates: two
    queries here plus three per such event and body, whatever the number of attendees.
    """
    event_ids = [event.pk for event in events]
    with_certificates = set(
        Certificate.objects.filter(event_id__in=event_ids, status=CertificateStatus.ISSUED)
        .values_list("event_id", flat=True)
        .distinct()
    )
    offerings = CEOffering.objects.filter(
        event_id__in=with_certificates, body__reports_to_ce_broker=True
    ).select_related("body")
    by_event = {event.pk: event for event in events}
    counts = {}
    for offering in offerings:
        roster = ce_broker_roster(by_event[offering.event_id], offering.body)
        total = counts.setdefault(offering.event_id, BrokerCounts())
        numbers = [row.license_number for row in roster.rows + roster.reported]
        shared = {number for number in numbers if numbers.count(number) > 1}
        total.reported += len(roster.reported)
        total.pending += sum(1 for row in roster.rows if row.license_number not in shared)
        total.refused += (
            len(roster.refused)
            + max(0, len(roster.problems) - len(shared))
            + sum(1 for row in roster.rows if row.license_number in shared)
        )
        total.blocked = total.blocked or roster.blocked
    return counts
