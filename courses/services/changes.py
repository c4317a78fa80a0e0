"""Changes to a seat: attendee details, cancellation and transfer to a colleague."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import record
from courses import emails
from courses.models import (
    BookingStatus,
    Registration,
    RegistrationAddOn,
    RegistrationStatus,
    new_token,
)
from courses.signals import registration_cancelled

from .common import ATTENDEE_FIELDS, is_event_staff, snapshot
from .errors import CancellationClosed, InvalidSelection, NotAllowed
from .holds import attendee_account, validate_add_ons
from .membership import grant_membership, revoke_membership
from .waitlist import offer_waitlist_seats


def update_attendee_details(registration, data, *, actor):
    """Fill in or correct one seat's attendee details while the booking is held (the details
    step of checkout), or by staff at any time."""
    staff = is_event_staff(actor)
    booking = registration.booking
    if not staff:
        if booking.purchaser_id != actor.pk:
            raise NotAllowed(_("Only the person who made the booking can change it."))
        if registration.status != RegistrationStatus.HELD:
            raise NotAllowed(_("This registration can no longer be changed here."))
    with transaction.atomic():
        before = {name: str(getattr(registration, name)) for name in ATTENDEE_FIELDS}
        for name in ATTENDEE_FIELDS:
            if name in data:
                setattr(registration, name, data[name])
        invite = data.get("invite")
        if invite is not None and registration.status == RegistrationStatus.HELD:
            registration.invitation_token = new_token() if invite else None
            registration.attendee = (
                None if invite else attendee_account(registration, booking.purchaser, False)
            )
        if "add_on_ids" in data and registration.status == RegistrationStatus.HELD:
            rows = validate_add_ons(registration.event, data["add_on_ids"])
            registration.add_on_lines.all().delete()
            RegistrationAddOn.objects.bulk_create(
                RegistrationAddOn(registration=registration, add_on=a, unit_price=a.price)
                for a in rows.values()
            )
            if any(a.grants_ce for a in rows.values()):
                registration.wants_ce = True
        registration.save()
        record(
            "courses.registration.details_changed",
            registration,
            actor=actor,
            before=before,
            after={name: str(getattr(registration, name)) for name in ATTENDEE_FIELDS},
        )
    return registration


def booking_details_complete(booking):
    """True when every seat has a name and an email (needed before the summary step)."""
    return not booking.registrations.filter(Q(attendee_name="") | Q(attendee_email="")).exists()


def _check_attendee_change(registration, actor, now, verb):
    """Attendees (or their purchaser) may change a seat until the cut-off; staff any time."""
    if is_event_staff(actor):
        return True
    if actor is None or actor.pk not in (
        registration.attendee_id,
        registration.booking.purchaser_id,
    ):
        raise NotAllowed(_("You can only %(verb)s your own registration.") % {"verb": verb})
    deadline = registration.event.cancellation_deadline
    if deadline and now >= deadline:
        raise CancellationClosed(
            _("The deadline to %(verb)s has passed. Please contact us for help.") % {"verb": verb}
        )
    return False


def cancel_registration(registration, *, actor, now=None, note=""):
    """Cancel one seat: free it, offer it to the waitlist, tell the attendee, and signal
    payments (which applies its own refund rules)."""
    now = now or timezone.now()
    by_staff = _check_attendee_change(registration, actor, now, _("cancel"))
    with transaction.atomic():
        registration = (
            Registration.objects.select_for_update()
            .select_related("booking", "event")
            .get(pk=registration.pk)
        )
        if registration.status not in (RegistrationStatus.HELD, RegistrationStatus.CONFIRMED):
            return registration
        was_confirmed = registration.status == RegistrationStatus.CONFIRMED
        old = registration.status
        registration.status = RegistrationStatus.CANCELLED
        registration.cancelled_at = now
        registration.save(update_fields=["status", "cancelled_at"])
        revoke_membership(registration, now, actor)
        record(
            "courses.registration.cancelled",
            registration,
            actor=actor,
            before={"status": old},
            after={"status": RegistrationStatus.CANCELLED},
            note=note or ("by staff" if by_staff else "by attendee"),
        )
        booking = registration.booking
        if not booking.registrations.filter(
            status__in=[RegistrationStatus.HELD, RegistrationStatus.CONFIRMED]
        ).exists():
            before = snapshot(booking)
            booking.status = BookingStatus.CANCELLED
            booking.cancelled_at = now
            booking.save(update_fields=["status", "cancelled_at", "updated_at"])
            record(
                "courses.booking.cancelled",
                booking,
                actor=actor,
                before=before,
                after=snapshot(booking),
            )
    if was_confirmed:
        emails.send_cancellation(registration)
        registration_cancelled.send(
            sender=Registration, registration=registration, actor=actor, by_staff=by_staff
        )
    offer_waitlist_seats(registration.event, now=now)
    return registration


def transfer_registration(registration, *, new_name, new_email, actor, now=None):
    """Give a confirmed seat to a colleague: a new registration for them, the old one marked
    transferred (so the old attendee loses materials, join link and member access)."""
    now = now or timezone.now()
    _check_attendee_change(registration, actor, now, _("transfer"))
    new_name, new_email = (new_name or "").strip(), (new_email or "").strip()
    if not new_name or not new_email:
        raise InvalidSelection(_("Enter the new attendee's name and email address."))
    User = get_user_model()
    with transaction.atomic():
        registration = (
            Registration.objects.select_for_update()
            .select_related("booking", "event", "ticket_type")
            .get(pk=registration.pk)
        )
        if registration.status != RegistrationStatus.CONFIRMED:
            raise NotAllowed(_("Only a confirmed registration can be transferred."))
        if new_email.casefold() == registration.attendee_email.casefold():
            raise InvalidSelection(
                _("Enter the email address of the person taking the seat."), field="new_email"
            )
        account = User.objects.filter(email__iexact=new_email).first()
        successor = Registration.objects.create(
            booking=registration.booking,
            event=registration.event,
            ticket_type=registration.ticket_type,
            attendee=account,
            attendee_name=new_name,
            attendee_email=new_email,
            wants_ce=registration.wants_ce,
            unit_price=registration.unit_price,
            status=RegistrationStatus.CONFIRMED,
            confirmed_at=now,
            invitation_token=None if account else new_token(),
            invited_at=None if account else now,
        )
        RegistrationAddOn.objects.bulk_create(
            RegistrationAddOn(
                registration=successor, add_on_id=line.add_on_id, unit_price=line.unit_price
            )
            for line in registration.add_on_lines.all()
        )
        registration.status = RegistrationStatus.TRANSFERRED
        registration.transferred_to = successor
        registration.cancelled_at = now
        registration.save(update_fields=["status", "transferred_to", "cancelled_at"])
        revoke_membership(registration, now, actor)
        if account:
            grant_membership(successor, now, actor)
        record(
            "courses.registration.transferred",
            registration,
            actor=actor,
            before={
                "status": RegistrationStatus.CONFIRMED,
                "attendee_email": registration.attendee_email,
            },
            after={"status": RegistrationStatus.TRANSFERRED, "to": str(successor.public_id)},
        )
        record(
            "courses.registration.confirmed",
            successor,
            actor=actor,
            after={"status": RegistrationStatus.CONFIRMED, "from": str(registration.public_id)},
            note="transfer",
        )
    emails.send_registration_confirmation(successor, transferred=True)
    return successor
