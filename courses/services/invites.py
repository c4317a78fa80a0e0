"""Group bookings: seats bought for others, claimed by each attendee with their own account."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import record
from cms.locking import lock_one
from courses import emails
from courses.models import Registration, RegistrationStatus, new_token

from .common import is_event_staff
from .errors import NotAllowed
from .membership import grant_membership


def invite_attendee(registration, *, actor, now=None):
    """Send (or resend) a seat's claim link to its attendee email."""
    now = now or timezone.now()
    if registration.booking.purchaser_id != actor.pk and not is_event_staff(actor):
        raise NotAllowed(_("Only the person who made the booking can invite attendees."))
    if registration.attendee_id and registration.attendee_id != registration.booking.purchaser_id:
        raise NotAllowed(_("This seat has already been claimed."))
    with transaction.atomic():
        registration.attendee = None
        registration.invitation_token = registration.invitation_token or new_token()
        registration.invited_at = now
        registration.save(update_fields=["attendee", "invitation_token", "invited_at"])
        record(
            "courses.registration.invited",
            registration,
            actor=actor,
            after={"email": registration.attendee_email},
        )
    if registration.status == RegistrationStatus.CONFIRMED:
        emails.send_seat_invitation(registration)
    return registration


def registration_for_invitation(token):
    registration = (
        Registration.objects.select_related("event", "booking__purchaser")
        .filter(invitation_token=token, attendee__isnull=True)
        .first()
    )
    if registration is None or registration.status not in (
        RegistrationStatus.HELD,
        RegistrationStatus.CONFIRMED,
    ):
        raise NotAllowed(_("This invitation link is no longer valid. Ask the person who booked."))
    return registration


def claim_invited_seat(token, *, user, now=None):
    """Bind an invited seat to the account of the person who followed the link."""
    now = now or timezone.now()
    with transaction.atomic():
        registration = registration_for_invitation(token)
        registration = lock_one(Registration, registration.pk)
        if Registration.objects.filter(
            event=registration.event, attendee=user, status=RegistrationStatus.CONFIRMED
        ).exists():
            raise NotAllowed(_("You already have a seat at this event."))
        registration.attendee = user
        registration.attendee_email = user.email
        registration.attendee_name = registration.attendee_name or user.legal_name
        registration.claimed_at = now
        registration.save(
            update_fields=["attendee", "attendee_email", "attendee_name", "claimed_at"]
        )
        record(
            "courses.registration.claimed", registration, actor=user, after={"attendee": user.pk}
        )
        if registration.status == RegistrationStatus.CONFIRMED:
            grant_membership(registration, now, user)
    if registration.status == RegistrationStatus.CONFIRMED:
        emails.send_registration_confirmation(registration)
    return registration
