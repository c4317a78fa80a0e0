"""Credit earned by an attendee under each body's rules, with the reason in words when short.

Reads attendance only through `courses.attendance`; changes nothing.
"""

import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from courses import services as courses_services
from courses.attendance import minutes_within, presence_intervals

from .hours import headline_hours
from .models import CreditBasis, EventCESettings, PostTestAttempt

__all__ = [
    "CreditResult",
    "SessionPresence",
    "body_hours",
    "ce_settings_of",
    "credit_for",
    "credits_for_registration",
    "event_offerings",
    "headline_hours",
    "is_recorded",
    "last_day_attended",
    "session_presence",
]


@dataclass
class SessionPresence:
    number: int
    session: object
    length_minutes: int
    attended_minutes: int

    @property
    def missed_minutes(self):
        return max(0, self.length_minutes - self.attended_minutes)

    def describe_missed(self):
        return ngettext(
            "missed %(minutes)s minute of session %(number)s (%(title)s)",
            "missed %(minutes)s minutes of session %(number)s (%(title)s)",
            self.missed_minutes,
        ) % {
            "minutes": self.missed_minutes,
            "number": self.number,
            "title": self.session.title,
        }


@dataclass
class CreditResult:
    """Credit for one attendee under one offering."""

    offering: object
    hours: Decimal
    full: bool
    # What the attendance record shows, e.g. "missed 40 minutes of session 3 (Feedback)":
    # the same facts for every body, so a page can say them once.
    shortfalls: list = field(default_factory=list)
    # The body's own rule that turned them into this figure, when it matters ("APA gives
    # credit only for the whole program").
    rule: str = ""

    @property
    def body(self):
        return self.offering.body

    @property
    def reason(self):
        """The shortfall in plain words, with the body's rule first when it decided."""
        facts = "; ".join(self.shortfalls)
        return f"{self.rule}: {facts}" if self.rule and facts else self.rule or facts

    @property
    def minutes_per_credit(self):
        return self.body.minutes_per_credit

    @property
    def unit(self):
        """The body's hour in words: "50-minute hours"."""
        return _("%(minutes)s-minute hours") % {"minutes": self.body.minutes_per_credit}


def session_presence(registration, *, now=None):
    """Minutes attended of each CE session of the registration's event, in schedule order.

    Two queries whatever the number of sessions (none when the caller prefetched
    `attendances` and `event__sessions`): the attendance rows are read once, not per session.
    """
    now = now or timezone.now()
    sessions = [s for s in registration.event.sessions.all() if s.ce_minutes]
    sessions.sort(key=lambda s: (s.start, s.pk))
    attendances = list(registration.attendances.all())
    presence = []
    for number, session in enumerate(sessions, start=1):
        intervals = presence_intervals(registration, session, now=now, attendances=attendances)
        attended = minutes_within(intervals, session.start, session.end)
        length = round((session.end - session.start).total_seconds() / 60)
        # Round in the attendee's favour only by seconds, never by minutes.
        presence.append(
            SessionPresence(number, session, length, min(length, math.floor(attended + 0.5)))
        )
    return presence


def _round_down(hours, step):
    step = step or Decimal("0.01")
    return ((hours / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(Decimal("0.01"))


def body_hours(hours, body):
    """`hours` rounded down to `body`'s credit increment: the one rounding every hour figure
    computed for a body goes through (offering cap, full-program credit, per-session credit)."""
    return _round_down(Decimal(hours or 0), body.credit_increment)


def within_grace(presence, body):
    """Whether a session counts in full under `body`'s grace.

    The grace is one allowance per session for all the minutes missed of it together: late
    arrival, early leave and any gap in between. With 10 minutes' grace, joining 1 minute late
    or leaving 10 minutes early keeps the whole session; arriving 6 minutes late and leaving 6
    minutes early (12 missed) does not. One total rather than separate allowances at each end
    keeps the rule the same for a drop-out in the middle and never grants more than the body
    states.
    """
    return presence.missed_minutes <= body.late_grace_minutes


def credit_for(offering, presence):
    """Apply one body's rules to the attendee's presence.

    FULL_PROGRAM: the offering's hours if every session is within grace, else none.
    PER_SESSION: the CE minutes of each session within grace.
    PER_HOUR: the CE minutes of each session within grace, plus the minutes attended (at most
    its CE minutes) of each session that is not.
    Minutes become hours in the body's unit, rounded down to its increment (`body_hours`),
    and never more than the offering's hours.
    """
    body = offering.body
    short = [p for p in presence if not within_grace(p, body)]
    shortfalls = [p.describe_missed() for p in short]
    if not presence:
        return CreditResult(offering, Decimal("0"), False, [_("the event has no CE sessions")])
    cap = body_hours(offering.hours, body)
    if body.credit_basis == CreditBasis.FULL_PROGRAM:
        if short:
            return CreditResult(
                offering,
                Decimal("0"),
                False,
                shortfalls,
                rule=_("%(body)s gives credit only for the whole program") % {"body": body},
            )
        return CreditResult(offering, cap, True, [])
    if body.credit_basis == CreditBasis.PER_HOUR:
        minutes = sum(
            p.session.ce_minutes
            if within_grace(p, body)
            else min(p.attended_minutes, p.session.ce_minutes)
            for p in presence
        )
    else:
        minutes = sum(p.session.ce_minutes for p in presence if within_grace(p, body))
    hours = body_hours(Decimal(minutes) / Decimal(body.minutes_per_credit), body)
    return CreditResult(offering, min(hours, cap), not short, shortfalls)


def ce_settings_of(event):
    """The event's CE settings (None when it has none); read with the event when selected."""
    if type(event).ce_settings.is_cached(event):
        try:
            return event.ce_settings
        except EventCESettings.DoesNotExist:
            return None
    return EventCESettings.objects.filter(event=event).first()


def is_recorded(event):
    settings = ce_settings_of(event)
    return bool(settings and settings.is_recorded)


def event_offerings(event):
    """The event's CE offerings with their bodies, in body order: the prefetched ones when a
    page or job read them with the event, else one query."""
    if "ce_offerings" in getattr(event, "_prefetched_objects_cache", {}):
        return event.ce_offerings.all()  # prefetched in body order
    return event.ce_offerings.select_related("body").order_by("body__short_name")


def credits_for_registration(registration, *, now=None, presence=None):
    """A CreditResult for each of the event's offerings.

    An approval that had lapsed (or not begun) on the program's first day gives no credit.
    `presence`: the attendee's `session_presence`, when the caller has it already.
    """
    if presence is None:
        presence = session_presence(registration, now=now)
    event = registration.event
    recorded = is_recorded(event)
    home_study = None
    first_day = event.local(event.starts_at).date() if event.starts_at else None
    results = []
    for offering in event_offerings(event):
        if first_day and not offering.body.is_approved_on(first_day):
            results.append(
                CreditResult(
                    offering,
                    Decimal("0"),
                    False,
                    [
                        _("the %(body)s approval was not valid on %(day)s")
                        % {"body": offering.body, "day": date_format(first_day, "j F Y")}
                    ],
                )
            )
            continue
        if recorded:
            if home_study is None:
                home_study = home_study_progress(registration)
            results.append(home_study_credit(offering, home_study))
            continue
        results.append(credit_for(offering, presence))
    return results


@dataclass
class HomeStudyProgress:
    """What a home-study attendee has done: the date the post-test was passed (or None)
    and the whole percent of the recordings watched (None when there are none)."""

    passed_on: object
    watched_percent: object


def home_study_progress(registration):
    """Reads the seat's prefetched `post_test_attempts` and watch progress when a page of
    many seats (My CE) read them with it, else asks the database."""
    passed = _first_pass(registration)
    passed_on = registration.event.local(passed).date() if passed else None
    return HomeStudyProgress(passed_on, courses_services.watched_percent(registration))


def _first_pass(registration):
    """When the seat first passed its post-test, or None."""
    if "post_test_attempts" in getattr(registration, "_prefetched_objects_cache", {}):
        passes = [
            a.submitted_at
            for a in registration.post_test_attempts.all()
            if a.status == PostTestAttempt.Status.PASSED and a.submitted_at
        ]
        return min(passes, default=None)
    return (
        PostTestAttempt.objects.filter(
            registration=registration, status=PostTestAttempt.Status.PASSED
        )
        .order_by("submitted_at")
        .values_list("submitted_at", flat=True)
        .first()
    )


def home_study_credit(offering, progress):
    """A recorded program's credit under one body: the offering's hours once the body's
    conditions are met (a passed post-test, the share of the recordings watched), else none,
    with what is missing in words."""
    body = offering.body
    shortfalls = []
    if body.posttest_required_for_recorded and progress.passed_on is None:
        shortfalls.append(
            _("%(body)s requires a passed post-test for a recorded program") % {"body": body}
        )
    required = body.home_study_watched_percent
    if required and (progress.watched_percent or 0) < required:
        shortfalls.append(
            _("watched %(watched)s%% of the recordings, and %(body)s requires %(required)s%%")
            % {"watched": progress.watched_percent or 0, "body": body, "required": required}
        )
    if shortfalls:
        return CreditResult(offering, Decimal("0"), False, shortfalls)
    return CreditResult(offering, offering.hours, True, [])


def last_day_attended(registration, presence=None):
    """The date (in the event's zone) of the last session the attendee was present at."""
    presence = presence if presence is not None else session_presence(registration)
    attended = [p.session for p in presence if p.attended_minutes > 0]
    if not attended:
        return None
    return registration.event.local(max(s.end for s in attended)).date()
