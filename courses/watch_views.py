"""Watching an on-demand course: the page with a player per recording, the recording's bytes
(with HTTP Range, or a signed S3 URL), and the player's heartbeats.

Only the seat's attendee watches, once the seat is confirmed (access starts at payment); staff
who manage registrations may open the page and play the recordings to help someone, but
their playing records nothing. Everyone else learns nothing (404).
"""

import json

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from cms.access import Perm, may_act_for_others, owner
from cms.library import stream_recording
from courses import services
from courses.models import EventRecording, Registration

# A heartbeat is three numbers; anything much larger is not one.
MAX_HEARTBEAT_BYTES = 1024


def _seat(request, public_id):
    """(registration, watching_as_attendee): the attendee's own seat, or staff looking at
    someone's; 404 for anyone else."""
    registration = Registration.objects.select_related("event").filter(public_id=public_id).first()
    if registration is None:
        raise Http404("No such registration.")
    if registration.attendee_id == request.user.pk:
        return registration, True
    if may_act_for_others(request.user, Perm.MANAGE_REGISTRATIONS):
        return registration, False
    raise Http404("No such registration.")


def _clock(seconds):
    """A position in a recording as a player shows it: 1:05:09, or 4:07 under an hour."""
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02}:{second:02}" if hours else f"{minute}:{second:02}"


def _add_watching_record(recording, event):
    """For staff answering "did they really watch it?": which stretches of `recording` were
    played (`played_parts`, "0:00–1:40, 9:50–10:00") and when last (`last_played`, in the
    course's zone)."""
    progress = recording.progress
    intervals = progress.intervals if progress else []
    recording.played_parts = ", ".join(f"{_clock(a)}–{_clock(b)}" for a, b in intervals)
    played = event.local(progress.last_heartbeat_at) if intervals else None
    # Formatted here: the template's date filter would show it in the viewer's zone.
    recording.last_played = date_format(played, "j M Y, H:i") if played else ""


@owner(Perm.MANAGE_REGISTRATIONS)
@require_safe
def watch(request, public_id):
    """The course's recordings, each player resuming where the attendee stopped."""
    registration, as_attendee = _seat(request, public_id)
    recordings = services.recordings_with_progress(registration)
    if not as_attendee:
        for recording in recordings:
            _add_watching_record(recording, registration.event)
    context = {
        "registration": registration,
        "event": registration.event,
        "as_attendee": as_attendee,
        "recordings": recordings,
        "watched_percent": services.watched_percent(registration),
    }
    refusal = services.watch_refusal(registration)
    if refusal:
        context["refusal"] = refusal
        return render(request, "courses/watch.html", context, status=403)
    return render(request, "courses/watch.html", context)


@owner(Perm.MANAGE_REGISTRATIONS)
@require_safe
def recording_file(request, public_id, recording_id):
    """The recording's bytes, for the page's <video>: 206 for a Range request."""
    registration, as_attendee = _seat(request, public_id)
    if as_attendee and not registration.is_confirmed:
        raise Http404("No such recording.")
    recording = get_object_or_404(
        EventRecording.objects.select_related("video"),
        pk=recording_id,
        event_id=registration.event_id,
    )
    response = stream_recording(recording.video, request)
    if response is None:  # not a video or audio file: nothing to play
        raise Http404("No such recording.")
    return response


def _refusal(message, status):
    return JsonResponse({"message": str(message)}, status=status)


@owner(api=True)
@require_POST
def heartbeat(request, public_id, recording_id):
    """The player reports what it played since its last report. JSON in, JSON out: 200 with
    the watched share, or 400/403/404/409 with a message to show."""
    if not request.user.is_authenticated:
        return _refusal(_("You are signed out: sign in again to keep your progress."), 403)
    registration = Registration.objects.filter(
        public_id=public_id, attendee_id=request.user.pk
    ).first()
    recording = EventRecording.objects.filter(
        pk=recording_id, event_id=getattr(registration, "event_id", None)
    ).first()
    if registration is None or recording is None:
        return _refusal(_("No such recording."), 404)
    if len(request.body) > MAX_HEARTBEAT_BYTES:
        return _refusal(_("The progress report is too large."), 400)
    try:
        report = json.loads(request.body)
        fields = {name: report[name] for name in ("played_from", "played_to", "position")}
    except (ValueError, TypeError, KeyError):
        return _refusal(_("The progress report could not be read; reload the page."), 400)
    try:
        progress = services.record_heartbeat(registration, recording, **fields)
    except services.WatchingRefused as refused:
        return _refusal(refused.message, refused.status)
    return JsonResponse(
        {
            "watched_seconds": progress.watched_seconds,
            "recording_percent": min(
                100, progress.watched_seconds * 100 // recording.duration_seconds
            ),
            "watched_percent": progress.course_percent,
            "position": progress.position_seconds,
        }
    )
