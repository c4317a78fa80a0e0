"""Changes to a seat: attendee details, cancellation and transfer to a colleague."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import record
from cms.locking import lock_one
from courses import emails
from courses.models import (
    Booking,
    BookingStatus,
    Registration,
    RegistrationAddOn,
    RegistrationStatus,
    new_token,
)
from courses.signals import booking_changed, registration_cancelled

from .common import ATTENDEE_FIELDS, is_event_staff, lock_booking
from .errors import CancellationClosed, InvalidSelection, NotAllowed, RegistrationError
from .holds import attendee_account, validate_add_ons
from .membership import grant_membership, revoke_membership
from .states import transition
from .waitlist import offer_waitlist_seats


def update_attendee_details(registration, data, *, actor):
    """Fill in or correct one seat's attendee details while the booking is held (the details
    step of checkout), or by staff at any time.

    Add-ons (`data["add_on_ids"]`) change freely while the seat is held, and
    `booking_changed` tells payments to re-price the unpaid order. Once the seat is
    confirmed its price has been paid: only free add-ons may still be ticked or unticked;
    changing a priced one is refused (the organiser can cancel and rebook, or charge it).
    """
    staff = is_event_staff(actor)
    if not staff:
        if registration.booking.purchaser_id != actor.pk:
            raise NotAllowed(_("Only the person who made the booking can change it."))
        if registration.status != RegistrationStatus.HELD:
            raise NotAllowed(_("This registration can no longer be changed here."))
    with transaction.atomic():
        # The booking row is what confirmation and payment lock: a change to a seat's price
        # waits for them (or they for it), and then sees the seat as it now is.
        booking = lock_booking(registration.booking_id)
        registration.refresh_from_db()
        if not staff and registration.status != RegistrationStatus.HELD:
            raise NotAllowed(_("This registration can no longer be changed here."))
        before = _details(registration)
        for name in ATTENDEE_FIELDS:
            if name in data:
                setattr(registration, name, data[name])
        invite = data.get("invite")
        if invite is not None and registration.status == RegistrationStatus.HELD:
            registration.invitation_token = new_token() if invite else None
            registration.attendee = (
                None if invite else attendee_account(registration, booking.purchaser, False)
            )
        lines_changed = False
        if "add_on_ids" in data:
            lines_changed = _change_add_ons(registration, data["add_on_ids"])
        registration.save()
        record(
            "courses.registration.details_changed",
            registration,
            actor=actor,
            before=before,
            after=_details(registration),
        )
        if lines_changed and booking.status == BookingStatus.HELD:
            booking_changed.send(sender=Booking, booking=booking)
    return registration


def _details(registration):
    details = {name: str(getattr(registration, name)) for name in ATTENDEE_FIELDS}
    details["add_ons"] = sorted(registration.add_on_lines.values_list("add_on_id", flat=True))
    return details


def _change_add_ons(registration, add_on_ids):
    """Make the seat's add-ons exactly `add_on_ids`; True when its line items changed. Lines
    kept keep the price frozen when they were chosen; new ones take today's price."""
    wanted = validate_add_ons(registration.event, add_on_ids)
    current = {line.add_on_id: line for line in registration.add_on_lines.all()}
    added = [wanted[pk] for pk in sorted(set(wanted) - set(current))]
    removed = [current[pk] for pk in sorted(set(current) - set(wanted))]
    if not added and not removed:
        return False
    if registration.status != RegistrationStatus.HELD and (
        any(a.price for a in added) or any(line.unit_price for line in removed)
    ):
        raise NotAllowed(
            _(
                "This registration is confirmed and paid for, so its paid add-ons cannot be "
                "changed here. Please contact the organiser to add or remove one."
            ),
            field="add_on_ids",
        )
    RegistrationAddOn.objects.filter(pk__in=[line.pk for line in removed]).delete()
    RegistrationAddOn.objects.bulk_create(
        RegistrationAddOn(registration=registration, add_on=a, unit_price=a.price) for a in added
    )
    if any(a.grants_ce for a in wanted.values()):
        registration.wants_ce = True
    return True


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


def change_refusal(registration, actor, now=None, verb=None):
    """Why `actor` may not cancel or transfer `registration` online now, or "" if they may:
    pages use it to hide a form that would only refuse on submit."""
    try:
        _check_attendee_change(registration, actor, now or timezone.now(), verb or _("transfer"))
    except RegistrationError as error:
        return error.message
    if registration.status != RegistrationStatus.CONFIRMED:
        return _("This registration is %(status)s, so it can no longer be changed online.") % {
            "status": registration.get_status_display().lower()
        }
    return ""


def cancel_registration(registration, *, actor, now=None, note=""):
    """Cancel one seat: free it, offer it to the waitlist, tell the attendee, and signal
    payments (which applies its own refund rules)."""
    now = now or timezone.now()
    by_staff = _check_attendee_change(registration, actor, now, _("cancel"))
    with transaction.atomic():
        # The booking first, then the seat (common.lock_booking says why).
        booking = lock_booking(registration.booking_id)
        registration = lock_one(
            Registration.objects.select_related("event"), registration.pk, of=("self",)
        )
        registration.booking = booking
        if registration.status not in (RegistrationStatus.HELD, RegistrationStatus.CONFIRMED):
            return registration
        was_confirmed = registration.status == RegistrationStatus.CONFIRMED
        transition(
            registration,
            RegistrationStatus.CANCELLED,
            now=now,
            actor=actor,
            note=note or ("by staff" if by_staff else "by attendee"),
        )
        revoke_membership(registration, now, actor)
        if not booking.registrations.filter(
            status__in=[RegistrationStatus.HELD, RegistrationStatus.CONFIRMED]
        ).exists():
            transition(booking, BookingStatus.CANCELLED, now=now, actor=actor)
        elif booking.status == BookingStatus.HELD:
            # One seat fewer in a booking still being paid for: its order must follow.
            booking_changed.send(sender=Booking, booking=booking)
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
        booking = lock_booking(registration.booking_id)
        registration = lock_one(
            Registration.objects.select_related("event", "ticket_type"),
            registration.pk,
            of=("self",),
        )
        registration.booking = booking
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
        registration.transferred_to = successor
        transition(
            registration,
            RegistrationStatus.TRANSFERRED,
            now=now,
            actor=actor,
            fields=["transferred_to"],
            before={"attendee_email": registration.attendee_email},
            after={"to": str(successor.public_id)},
        )
        revoke_membership(registration, now, actor)
        if account:
            grant_membership(successor, now, actor)
        record(
            "courses.registration.confirmed",
            successor,
            actor=actor,
            after={"status": RegistrationStatus.CONFIRMED, "from": str(registration.public_id)},
            note="transfer",
        )
    emails.send_registration_confirmation(successor, transferred=True)
    emails.send_transferred_away(registration, successor)
    return successor
