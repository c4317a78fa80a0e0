"""How a hold ends: confirmed (paid, free or approved), or released with an explicit outcome
(expired or cancelled) and its seats offered to the waitlist. Celery beat runs
`expire_holds_task` every minute."""

from collections import Counter
from enum import StrEnum

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.locking import locked
from courses import capacity, emails
from courses.models import (
    ApprovalStatus,
    Booking,
    BookingKind,
    BookingStatus,
    EventPage,
    RegistrationStatus,
    WaitlistEntry,
    WaitlistStatus,
)

from .common import is_event_staff, lock_booking
from .errors import ApprovalRequired, InvalidSelection, NotAllowed, SeatsNoLongerAvailable, SoldOut
from .holds import check_seats, one_step_ticket, place_hold
from .membership import grant_membership, revoke_membership
from .pricing import booking_is_free
from .states import transition
from .waitlist import expire_waitlist_offers, offer_waitlist_seats


class ReleaseOutcome(StrEnum):
    """What `release_registrations` makes of a booking, chosen by its caller."""

    # The hold lapsed: its timer, or a checkout whose payment window ran out. Only a held
    # booking expires; releasing a confirmed one with this outcome cancels it.
    EXPIRED = "expired"
    # Anything else: abandoned, refunded, unpaid, rejected.
    CANCELLED = "cancelled"


def confirm_registrations(booking, *, actor=None, now=None):
    """Confirm every held seat of `booking` and email each attendee. Idempotent.

    A hold that already expired is confirmed if its seats are still free; otherwise
    SeatsNoLongerAvailable is raised (payments then refunds).
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = lock_booking(booking.pk)
        if booking.status == BookingStatus.CONFIRMED:
            return booking
        if booking.approval_status in (ApprovalStatus.PENDING, ApprovalStatus.REJECTED):
            raise ApprovalRequired(
                _("This booking is waiting for staff approval and cannot be completed yet.")
            )
        if booking.status == BookingStatus.CANCELLED:
            raise SeatsNoLongerAvailable(_("This booking was cancelled; please start again."))
        registrations = list(
            booking.registrations.filter(
                status__in=[RegistrationStatus.HELD, RegistrationStatus.EXPIRED]
            ).select_related("ticket_type")
        )
        if booking.hold_has_expired(now):
            # Its seats stopped counting when the hold expired: count them in again, under
            # the lock, as if they were a new hold.
            ticket_types = {r.ticket_type_id: r.ticket_type for r in registrations}
            capacity.lock_capacity(booking.event, ticket_types.values())
            quantities = Counter(r.ticket_type_id for r in registrations)
            try:
                check_seats(booking.event, ticket_types, quantities, now)
            except SoldOut:
                raise SeatsNoLongerAvailable(
                    _(
                        "Your reservation expired and the seats have been taken. "
                        "Any payment for them will be refunded."
                    )
                ) from None
        for registration in registrations:
            transition(registration, RegistrationStatus.CONFIRMED, now=now, actor=actor)
            if registration.attendee_id:
                grant_membership(registration, now, actor)
        if booking.paid_at is None and booking_is_free(booking):
            # Nothing to pay: a free booking counts as paid once confirmed.
            booking.paid_at = now
        transition(
            booking,
            BookingStatus.CONFIRMED,
            now=now,
            actor=actor,
            fields=["paid_at"],
            after={"paid_at": booking.paid_at.isoformat() if booking.paid_at else ""},
        )
        _send_confirmations(booking, registrations)
    return booking


def _send_confirmations(booking, registrations):
    """Each attendee gets their own email (an invitation for a seat still to be claimed); a
    purchaser buying for others also gets a summary. Staff entering a seat get nothing."""
    staff_made = booking.kind in (BookingKind.COMPLIMENTARY, BookingKind.SPEAKER)
    purchaser_email = booking.purchaser.email.casefold()
    purchaser_is_attendee = False
    for registration in registrations:
        if registration.awaiting_claim and not staff_made:
            emails.send_seat_invitation(registration)
        else:
            emails.send_registration_confirmation(registration)
        if registration.attendee_email.casefold() == purchaser_email:
            purchaser_is_attendee = True
    if not staff_made and (not purchaser_is_attendee or len(registrations) > 1):
        emails.send_booking_confirmation(booking)


def confirm_free_booking(booking, *, actor):
    """The free-order end of checkout: confirm without the payment step."""
    if booking.purchaser_id != actor.pk and not is_event_staff(actor):
        raise NotAllowed(_("Only the person who made the booking can complete it."))
    if not booking_is_free(booking):
        raise InvalidSelection(_("This booking has a price; please continue to payment."))
    return confirm_registrations(booking, actor=actor)


def release_registrations(booking, *, outcome, reason="", actor=None, now=None):
    """Give back the booking's seats (expired hold, abandoned or refunded checkout) and offer
    them to the waitlist. Idempotent: a released booking is returned unchanged.

    `outcome` (a ReleaseOutcome) says whether a held booking expires or is cancelled;
    `reason` is only the note on the audit records.
    """
    outcome = ReleaseOutcome(outcome)
    now = now or timezone.now()
    with transaction.atomic():
        booking = lock_booking(booking.pk)
        released = _release_locked(booking, outcome, reason=reason, actor=actor, now=now)
    if released:
        offer_waitlist_seats(booking.event, now=now)
    return booking


def _release_locked(booking, outcome, *, reason, actor, now):
    """Release a booking the caller has locked; False when it was already released."""
    if booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED):
        return False
    expiring = outcome == ReleaseOutcome.EXPIRED and booking.status == BookingStatus.HELD
    for registration in booking.registrations.filter(
        status__in=[RegistrationStatus.HELD, RegistrationStatus.CONFIRMED]
    ):
        held = registration.status == RegistrationStatus.HELD
        to = RegistrationStatus.EXPIRED if held and expiring else RegistrationStatus.CANCELLED
        transition(registration, to, now=now, actor=actor, note=reason)
        revoke_membership(registration, now, actor)
    to = BookingStatus.EXPIRED if expiring else BookingStatus.CANCELLED
    transition(booking, to, now=now, actor=actor, note=reason)
    return True


def expire_holds(now=None):
    """Expire every lapsed hold and pass freed seats on; run by Celery beat every minute.

    Safe to run twice at once (a second beat by mistake): each hold is released in its own
    transaction under its row lock, taken with SKIP LOCKED, so a hold the other run is
    releasing is skipped and one it released is left alone; offers are made under the
    capacity lock, so each freed seat is offered, and emailed, once.
    """
    now = now or timezone.now()
    due = Booking.objects.filter(status=BookingStatus.HELD, expires_at__lte=now)
    expired = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            rows = locked(
                due.filter(pk=pk).select_related("event"),
                of=("self",),
                no_key=True,
                skip_locked=True,
            )
            if rows and _release_locked(
                rows[0], ReleaseOutcome.EXPIRED, reason="expired", actor=None, now=now
            ):
                expired += 1
    expire_waitlist_offers(now)
    events = (
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING)
        .values_list("event_id", flat=True)
        .distinct()
    )
    for event in EventPage.objects.filter(pk__in=list(events)):
        offer_waitlist_seats(event, now=now)
    return expired


@shared_task(name="courses.tasks.expire_holds")
def expire_holds_task():
    """Every minute (beat): expire lapsed holds and offers, offer freed seats to the waitlist."""
    return expire_holds()


def register_in_one_step(event, *, purchaser, idempotency_key, ce=None, seat_check=None):
    """A signed-in member takes one free seat for themselves: hold and confirm together.

    Only for what `one_step_ticket` allows (else InvalidSelection). The same
    `idempotency_key` gives back the first booking, confirmed (a double click books once).
    `ce`: {"wants_ce", "license_jurisdiction", "license_number"} when CE is asked for.
    """
    ticket = one_step_ticket(event, purchaser=purchaser)
    if ticket is None:
        raise InvalidSelection(
            _("This registration needs a few details first. Please choose your ticket below.")
        )
    details = {
        "attendee_name": purchaser.legal_name,
        "attendee_email": purchaser.email,
        "profession": purchaser.profession,
    }
    if ce and ce.get("wants_ce") and event.offers_ce_credit:
        details.update(
            wants_ce=True,
            license_jurisdiction=ce.get("license_jurisdiction", ""),
            license_number=ce.get("license_number", ""),
        )
    booking = place_hold(
        event=event,
        purchaser=purchaser,
        tickets={ticket.pk: 1},
        attendees=[details],
        idempotency_key=idempotency_key,
        offered_tickets=[ticket],
        offered_add_ons=[],
        seat_check=seat_check,
    )
    return confirm_free_booking(booking, actor=purchaser)
