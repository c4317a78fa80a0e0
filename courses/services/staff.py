"""Staff actions on an event: manual (complimentary, speaker) registrations and messages to
registrants (one Celery task per recipient)."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from cms.audit import record
from courses import emails
from courses.models import BookingKind, EventPage, Registration, RegistrationStatus

from .common import is_event_staff
from .confirmation import confirm_registrations
from .errors import InvalidSelection, NotAllowed
from .holds import place_hold


def register_manually(
    event, *, ticket_type, attendee_name, attendee_email, kind, actor, wants_ce=False, now=None
):
    """A complimentary or speaker seat entered by staff: free, confirmed at once, and still
    inside capacity (the count rules do not bend for staff)."""
    if not is_event_staff(actor):
        raise NotAllowed(_("Only event managers can add registrations."))
    if kind not in (BookingKind.COMPLIMENTARY, BookingKind.SPEAKER):
        raise InvalidSelection(_("Choose complimentary or speaker."))
    User = get_user_model()
    account = User.objects.filter(email__iexact=attendee_email.strip()).first()
    booking = place_hold(
        event=event,
        purchaser=account or actor,
        tickets={ticket_type.pk: 1},
        attendees=[
            {
                "attendee_name": attendee_name,
                "attendee_email": attendee_email.strip(),
                "wants_ce": wants_ce,
                "invite": account is None,
            }
        ],
        kind=kind,
        actor=actor,
        now=now,
    )
    confirm_registrations(booking, actor=actor, now=now)
    return booking.registrations.get()


def registrants_to_message(event):
    return (
        Registration.objects.filter(event=event, status=RegistrationStatus.CONFIRMED)
        .order_by("attendee_email")
        .values_list("attendee_email", "attendee_name")
        .distinct()
    )


def message_registrants(event, *, subject, body, actor):
    """Email every confirmed registrant (one Celery task each); returns how many."""
    if not is_event_staff(actor):
        raise NotAllowed(_("Only event managers can message registrants."))
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise InvalidSelection(_("Write a subject and a message."))
    recipients = list(registrants_to_message(event))
    with transaction.atomic():
        record(
            "courses.event.registrants_messaged",
            event,
            actor=actor,
            after={"subject": subject, "recipients": len(recipients)},
        )
    for email, name in recipients:
        send_registrant_message.delay(event.pk, email, name, subject, body)
    return len(recipients)


@shared_task(
    name="courses.tasks.send_registrant_message",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_registrant_message(event_id, email, name, subject, body):
    emails.send_registrant_message(EventPage.objects.get(pk=event_id), email, name, subject, body)
