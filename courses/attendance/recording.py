"""Recording attendance: staff check people in and out, void a wrong entry, enter a presence
after the fact; and reading it back as intervals (certification counts CE minutes from them).

Every change writes an audit record; nothing is overwritten: a wrong entry is voided with a
reason and a new one recorded.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit
from cms.text import fold
from courses.models import AttendanceSource, Registration, RegistrationStatus, SessionAttendance


class AttendanceError(Exception):
    """An attendance action that cannot be done; the message tells the person why."""


def merge_intervals(intervals):
    """Union of (start, end) pairs: overlapping or touching pairs become one."""
    merged = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def minutes_within(intervals, window_start, window_end):
    """Minutes of the merged intervals that fall inside the window, never counted twice."""
    total = timedelta()
    for start, end in merge_intervals(intervals):
        overlap = min(end, window_end) - max(start, window_start)
        if overlap > timedelta():
            total += overlap
    return total.total_seconds() / 60


def snapshot(attendance):
    return {
        "registration": str(attendance.registration.public_id),
        "session": attendance.session_id,
        "checked_in_at": attendance.checked_in_at.isoformat() if attendance.checked_in_at else None,
        "checked_out_at": (
            attendance.checked_out_at.isoformat() if attendance.checked_out_at else None
        ),
        "source": attendance.source,
        "voided": bool(attendance.voided_at),
    }


def require_attendable(registration, session):
    if session.event_id != registration.event_id:
        raise AttendanceError(_("This session belongs to another event."))
    if registration.status != RegistrationStatus.CONFIRMED:
        raise AttendanceError(
            _(
                "%(name)s's registration is %(status)s, not confirmed: check the booking "
                "before checking them in."
            )
            % {"name": registration.attendee_name, "status": registration.get_status_display()}
        )


def open_attendance(registration, session):
    """The attendee's current check-in for the session that has no check-out yet, if any."""
    return (
        registration.attendances.filter(
            session=session, voided_at__isnull=True, checked_out_at__isnull=True
        )
        .order_by("-checked_in_at")
        .first()
    )


@transaction.atomic
def check_in(registration, session, *, actor=None, source=None, at=None):
    """Record that the attendee arrived; a second check-in while still in changes nothing."""
    require_attendable(registration, session)
    current = open_attendance(registration, session)
    if current is not None:
        return current, False
    attendance = SessionAttendance.objects.create(
        registration=registration,
        session=session,
        checked_in_at=at or timezone.now(),
        source=source or AttendanceSource.STAFF,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        "courses.attendance.checked_in", attendance, actor=actor, after=snapshot(attendance)
    )
    return attendance, True


@transaction.atomic
def check_out(registration, session, *, actor=None, at=None):
    """Record that the attendee left (early leaving reduces their CE credit)."""
    require_attendable(registration, session)
    attendance = open_attendance(registration, session)
    if attendance is None:
        raise AttendanceError(
            _("%(name)s is not checked in to this session.") % {"name": registration.attendee_name}
        )
    before = snapshot(attendance)
    moment = at or timezone.now()
    if moment < attendance.checked_in_at:
        raise AttendanceError(_("The check-out time is before the check-in time."))
    attendance.checked_out_at = moment
    attendance.save(update_fields=["checked_out_at"])
    audit.record(
        "courses.attendance.checked_out",
        attendance,
        actor=actor,
        before=before,
        after=snapshot(attendance),
    )
    return attendance


@transaction.atomic
def void_attendance(attendance, *, actor, reason):
    """Cancel a wrong entry; it stays on record with who voided it and why."""
    if not reason.strip():
        raise AttendanceError(_("Say why this entry is wrong; the reason is kept for audits."))
    if attendance.voided_at:
        return attendance
    before = snapshot(attendance)
    attendance.voided_at = timezone.now()
    attendance.voided_by = actor if getattr(actor, "is_authenticated", False) else None
    attendance.void_reason = reason.strip()
    attendance.save(update_fields=["voided_at", "voided_by", "void_reason"])
    audit.record(
        "courses.attendance.voided",
        attendance,
        actor=actor,
        before=before,
        after=snapshot(attendance),
        note=reason,
    )
    return attendance


@transaction.atomic
def record_attendance(registration, session, *, checked_in_at, checked_out_at, actor, note=""):
    """Staff enter a known presence after the fact (e.g. from a paper sign-in sheet)."""
    require_attendable(registration, session)
    if checked_out_at and checked_out_at <= checked_in_at:
        raise AttendanceError(_("The check-out time must be after the check-in time."))
    attendance = SessionAttendance.objects.create(
        registration=registration,
        session=session,
        checked_in_at=checked_in_at,
        checked_out_at=checked_out_at,
        source=AttendanceSource.STAFF,
        recorded_by=actor,
    )
    audit.record(
        "courses.attendance.recorded",
        attendance,
        actor=actor,
        after=snapshot(attendance),
        note=note,
    )
    return attendance


def presence_intervals(registration, session, *, now=None, attendances=None):
    """The attendee's presence in the session as (start, end) pairs.

    An in-person check-in without a check-out counts until the session's end: people are
    checked in at the door and only checked out when they leave early. `attendances`: the
    registration's attendance rows when the caller has already read them (one query for
    every session instead of one per session).
    """
    now = now or timezone.now()
    intervals = []
    if attendances is None:
        attendances = registration.attendances.all()
    for attendance in attendances:
        if attendance.session_id != session.pk or attendance.voided_at:
            continue
        end = attendance.checked_out_at or min(session.end, max(now, attendance.checked_in_at))
        intervals.append((attendance.checked_in_at, end))
    return intervals


# The check-in screen lists at most this many matches (ask for a longer name to narrow it).
SEARCH_LIMIT = 200


def search_registrations(event, query, *, limit=SEARCH_LIMIT):
    """Confirmed registrations of the event whose name or email contains the query, ignoring
    case and accents ("nunez" finds Núñez), the first `limit` by name when there is a query.
    One event's list is small, so the names are compared here rather than by a database
    function that SQLite and PostgreSQL spell apart."""
    registrations = Registration.objects.filter(
        event=event, status=RegistrationStatus.CONFIRMED
    ).order_by("attendee_name")
    wanted = fold((query or "").strip())
    if wanted:
        matching = [
            pk
            for pk, name, email in registrations.values_list(
                "pk", "attendee_name", "attendee_email"
            )
            if wanted in fold(name) or wanted in fold(email)
        ]
        registrations = registrations.filter(pk__in=matching[:limit])
    return registrations
