"""Builders for on-demand watching tests: a course with recordings, and a seat on it."""

from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.models import Collection

from courses.factories import make_event
from courses.models import (
    Booking,
    BookingStatus,
    EventFormat,
    EventRecording,
    Registration,
    RegistrationStatus,
)

# Enough bytes to ask for ranges of; a real MP4 is made where a browser must play it.
FAKE_VIDEO = bytes(range(256)) * 8


def make_recording(event, title="Part 1: Why feedback", *, duration=600, content=FAKE_VIDEO):
    """A recording of `event`: a private .mp4 document of `duration` seconds."""
    video = get_document_model()(title=title, collection=Collection.get_first_root_node())
    video.file.save("recording.mp4", ContentFile(content), save=False)
    video.save()
    return EventRecording.objects.create(
        event=event,
        title=title,
        video=video,
        duration_seconds=duration,
        sort_order=event.recordings.count(),
    )


def make_course(title="Feedback-Informed Treatment, on demand", durations=(600,), **recording):
    """A published on-demand course with one recording per entry of `durations`."""
    event = make_event(title=title, format=EventFormat.ON_DEMAND)
    for number, duration in enumerate(durations, start=1):
        make_recording(event, f"Part {number}", duration=duration, **recording)
    return event


def make_seat(event, user, *, status=RegistrationStatus.CONFIRMED):
    """`user`'s own seat on `event` (a held one when `status` says so)."""
    confirmed = status == RegistrationStatus.CONFIRMED
    booking = Booking.objects.create(
        event=event,
        purchaser=user,
        status=BookingStatus.CONFIRMED if confirmed else BookingStatus.HELD,
    )
    return Registration.objects.create(
        booking=booking,
        event=event,
        ticket_type=event.ticket_types.first(),
        attendee=user,
        attendee_name=user.legal_name,
        attendee_email=user.email,
        status=status,
        unit_price=0,
    )
