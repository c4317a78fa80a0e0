"""Watching an on-demand course: the player's heartbeats become the merged intervals of each
recording that were actually played, and the attendee's watched share.

A heartbeat says "I played from second a to second b, and I am now at second p". It is only
believed as far as the wall clock allows: the playing it claims since the seat's previous
heartbeat may not exceed the time that passed (plus a small tolerance for network jitter),
nor one heartbeat's span. Seeking ahead plays nothing, so it adds nothing, and replaying a
part adds it once (the intervals are merged the way Zoom's join/leave intervals are).

The bound is per seat, not per recording: two recordings playing in two tabs share one clock.
The tolerance may be borrowed but not saved up: a claim that uses it moves the seat's clock
(`last_heartbeat_at`) ahead of the real time by what it borrowed, so many tiny heartbeats
cannot each add two seconds.

Heartbeats write no audit record: one every ten seconds of video is telemetry, not a change
someone decided; the progress row itself is the record.
"""

import math
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.locking import lock_one
from courses.attendance.recording import merge_intervals
from courses.models import EventRecording, Registration, RegistrationStatus, WatchProgress
from courses.models.recordings import WatchMilestone

from .errors import RegistrationError

# The player reports about every 10 s; a span longer than this is not one heartbeat.
MAX_HEARTBEAT_SECONDS = 30
# Network and timer jitter between what the player measured and what the server saw.
TOLERANCE_SECONDS = 2


class WatchingRefused(RegistrationError):
    """A heartbeat the rules refuse. `status` is the HTTP answer the endpoint gives: 400 for a
    malformed or impossible claim, 403 for a seat that may not watch, 409 for a claim faster
    than the wall clock."""

    def __init__(self, message, *, status=400):
        super().__init__(message)
        self.status = status


def _seconds(value, name):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise WatchingRefused(
            _("The player sent an invalid %(name)s; reload the page.") % {"name": name}
        )
    return number


def _clamp(seconds, duration):
    return min(max(seconds, 0.0), float(duration))


def watch_refusal(registration):
    """Why the seat may not watch its course's recordings, in words; "" when it may."""
    if registration.status == RegistrationStatus.CANCELLED:
        # Cancelled by the attendee or staff, or refunded: access ends, credit earned stays.
        return _(
            "This registration was cancelled (or refunded), so its recordings are no longer "
            "available. A certificate already issued stays valid in My CE."
        )
    if registration.status != RegistrationStatus.CONFIRMED:
        return _(
            "This registration is %(status)s, not confirmed: the recordings open once the "
            "registration is complete (for a paid course, once it is paid)."
        ) % {"status": registration.get_status_display()}
    return ""


def _require_watchable(registration, recording):
    if recording.event_id != registration.event_id:
        raise WatchingRefused(_("This recording belongs to another course."), status=403)
    refusal = watch_refusal(registration)
    if refusal:
        raise WatchingRefused(refusal, status=403)


def _check_pace(span, last_heartbeat_at, now):
    """Refuse a claim of `span` seconds of playing that the wall clock cannot account for."""
    if span > MAX_HEARTBEAT_SECONDS:
        raise WatchingRefused(
            _(
                "One heartbeat may report at most %(max)s seconds of playing; this one "
                "reported %(span)s. Reload the page to go on."
            )
            % {"max": MAX_HEARTBEAT_SECONDS, "span": round(span)}
        )
    if last_heartbeat_at is None:
        return
    elapsed = (now - last_heartbeat_at).total_seconds()
    if span > elapsed + TOLERANCE_SECONDS:
        raise WatchingRefused(
            _(
                "More was reported as played than time has passed (%(span)s s in %(elapsed)s "
                "s): progress counts at normal speed, one recording at a time."
            )
            % {"span": round(span, 1), "elapsed": max(0, round(elapsed, 1))},
            status=409,
        )


def _seat_clock(registration):
    """When the seat's played time so far could have been reached at normal speed."""
    return (
        WatchProgress.objects.filter(registration=registration)
        .exclude(last_heartbeat_at=None)
        .order_by("-last_heartbeat_at")
        .values_list("last_heartbeat_at", flat=True)
        .first()
    )


def record_heartbeat(registration, recording, *, played_from, played_to, position, now=None):
    """Add the played interval [played_from, played_to] of `recording` to the seat's progress
    and keep `position` for resuming; returns the `WatchProgress`. Raises `WatchingRefused`."""
    now = now or timezone.now()
    start = _seconds(played_from, _("start"))
    end = _seconds(played_to, _("end"))
    position = _seconds(position, _("position"))
    if end < start:
        raise WatchingRefused(_("The played interval ends before it starts; reload the page."))
    _require_watchable(registration, recording)
    duration = recording.duration_seconds
    start, end = _clamp(start, duration), _clamp(end, duration)
    span = end - start
    with transaction.atomic():
        # One seat's heartbeats take turns: the wall-clock bound spans all its recordings.
        seat = lock_one(Registration, registration.pk, of=("self",), no_key=True)
        _require_watchable(seat, recording)
        clock = _seat_clock(seat)
        _check_pace(span, clock, now)
        progress, _created = WatchProgress.objects.get_or_create(
            registration=seat, recording=recording
        )
        if span > 0:
            played = [tuple(pair) for pair in progress.intervals] + [
                (round(start, 2), round(end, 2))
            ]
            progress.intervals = [list(pair) for pair in merge_intervals(played)]
            progress.watched_seconds = round(sum(b - a for a, b in progress.intervals))
        progress.position_seconds = int(_clamp(position, duration))
        # Borrowed tolerance moves the clock ahead, so it cannot be borrowed again.
        reached = clock + timedelta(seconds=span) if clock else now
        progress.last_heartbeat_at = max(now, reached)
        progress.save()
        progress.course_percent = _seat_percent(seat)
        if span > 0:
            _keep_milestone(seat, progress.course_percent, now)
    return progress


def _seat_percent(seat):
    """The seat's watched percent, read afresh under its lock (None without recordings)."""
    lengths = dict(
        EventRecording.objects.filter(event_id=seat.event_id).values_list("pk", "duration_seconds")
    )
    watched = WatchProgress.objects.filter(registration=seat).values_list(
        "recording_id", "watched_seconds"
    )
    return _percent(lengths, dict(watched))


def _keep_milestone(seat, percent, now):
    """Note when the seat's share first rose to `percent`: only a rise is kept, so the day
    a share was first reached never moves (a recording made longer later lowers the share;
    reaching the old figure again is not a new first)."""
    if not percent:
        return
    highest = (
        WatchMilestone.objects.filter(registration=seat)
        .order_by("-percent")
        .values_list("percent", flat=True)
        .first()
    )
    if highest is None or percent > highest:
        WatchMilestone.objects.create(registration=seat, percent=percent, reached_at=now)


def share_first_reached_at(registration, percent):
    """When the seat's watched share first reached `percent` (a whole percent), or None if it
    has not: the moment a body's watching condition was met, however much was watched after."""
    return (
        WatchMilestone.objects.filter(registration=registration, percent__gte=percent)
        .order_by("reached_at")
        .values_list("reached_at", flat=True)
        .first()
    )


def recordings_with_progress(registration):
    """The event's recordings in order, each with `progress` (a `WatchProgress` or None) and
    `watched_percent`; reads prefetched `event.recordings` and `watch_progress` if present."""
    progress = {p.recording_id: p for p in registration.watch_progress.all()}
    recordings = list(registration.event.recordings.all())
    for recording in recordings:
        recording.progress = progress.get(recording.pk)
        watched = recording.progress.watched_seconds if recording.progress else 0
        recording.watched_percent = min(100, watched * 100 // recording.duration_seconds)
    return recordings


def watched_share(registration):
    """The share (0 to 1) of all the event's recordings, by length, that the attendee played;
    None when the event has no recordings. Reads prefetched rows if present, so a staff list
    of many seats costs no query per seat."""
    watched = {p.recording_id: p.watched_seconds for p in registration.watch_progress.all()}
    lengths = {r.pk: r.duration_seconds for r in registration.event.recordings.all()}
    return _share(lengths, watched)


def _share(lengths, watched):
    """The played share of recordings {id: length}, given {id: seconds played}."""
    total = sum(lengths.values())
    if not total:
        return None
    return sum(min(watched.get(pk, 0), length) for pk, length in lengths.items()) / total


def _percent(lengths, watched):
    return _whole_percent(_share(lengths, watched))


def _whole_percent(share):
    # Rounded down, so 100% is never shown before it is; the epsilon undoes float error.
    return None if share is None else math.floor(share * 100 + 1e-9)


def watched_percent(registration):
    """The watched share as a whole percent, rounded down (never shows 100 before it is), or
    None when the event has no recordings: what staff, the attendee and CE rules read."""
    return _whole_percent(watched_share(registration))


def last_watched_at(registration):
    """When the attendee last played something new or again (their last accepted
    heartbeat), or None: a home-study program's watching is done by then."""
    return (
        WatchProgress.objects.filter(registration=registration, watched_seconds__gt=0)
        .order_by("-last_heartbeat_at")
        .values_list("last_heartbeat_at", flat=True)
        .first()
    )
