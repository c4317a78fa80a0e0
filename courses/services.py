"""Every change to bookings, registrations, the waitlist and member access happens here.

Views, the Wagtail admin, Celery tasks and payments call these functions; nothing else writes
registration state. Each change is audited with `cms.audit.record`.
"""

import calendar
from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.access import Perm, can
from cms.audit import record
from courses import capacity, emails
from courses.models import (
    AddOn,
    ApprovalStatus,
    Booking,
    BookingKind,
    BookingStatus,
    MembershipGrant,
    Registration,
    RegistrationAddOn,
    RegistrationStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
    new_token,
)
from courses.signals import registration_cancelled

# -- errors: each message tells the person what to do next ----------------------------------


class RegistrationError(Exception):
    """A request the rules refuse; `message` is shown to the person, `field` names the input."""

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class RegistrationClosed(RegistrationError):
    pass


class InvalidSelection(RegistrationError):
    pass


class SoldOut(RegistrationError):
    """Not enough seats; `waitlist_open` says whether the event takes waitlist entries."""

    def __init__(self, message, *, field=None, waitlist_open=True):
        super().__init__(message, field=field)
        self.waitlist_open = waitlist_open


class SeatsNoLongerAvailable(RegistrationError):
    """An expired hold could not be confirmed: the seats went to someone else."""


class ApprovalRequired(RegistrationError):
    pass


class CancellationClosed(RegistrationError):
    pass


class NotAllowed(RegistrationError):
    pass


def is_event_staff(user):
    """Staff who manage registrations, acting with their second factor (cms.access)."""
    return can(user, Perm.MANAGE_REGISTRATIONS)


ATTENDEE_FIELDS = (
    "attendee_name",
    "attendee_email",
    "profession",
    "license_number",
    "license_jurisdiction",
    "wants_ce",
    "accessibility_needs",
    "dietary_needs",
    "answers",
)


def _snapshot(obj, fields=("status",)):
    return {name: str(getattr(obj, name)) for name in fields}


def _profile_details(user):
    return {
        "attendee_name": user.legal_name,
        "attendee_email": user.email,
        "profession": user.profession,
    }


# -- holding seats ------------------------------------------------------------------------------


def _parse_quantities(tickets):
    """{ticket id: quantity} from form data; anything that is not a whole number is refused."""
    quantities = {}
    for key, value in dict(tickets).items():
        try:
            ticket_id, quantity = int(key), int(value)
        except (TypeError, ValueError):
            raise InvalidSelection(_("Choose a whole number of tickets.")) from None
        if quantity < 0:
            raise InvalidSelection(_("Choose a whole number of tickets."))
        if quantity:
            quantities[ticket_id] = quantities.get(ticket_id, 0) + quantity
    if not quantities:
        raise InvalidSelection(_("Choose at least one ticket."))
    return quantities


def _validate_tickets(event, quantities, *, access_code, now, staff):
    """Check every chosen ticket against the database (never trust what the form says)."""
    ticket_types = {t.pk: t for t in TicketType.objects.filter(event=event, pk__in=quantities)}
    if len(ticket_types) != len(quantities):
        raise InvalidSelection(_("That ticket is not offered for this event. Please choose again."))
    for ticket_id, quantity in quantities.items():
        ticket = ticket_types[ticket_id]
        if quantity < ticket.min_per_order or quantity > ticket.max_per_order:
            raise InvalidSelection(
                _("“%(name)s”: choose between %(min)s and %(max)s tickets per order.")
                % {"name": ticket.name, "min": ticket.min_per_order, "max": ticket.max_per_order},
                field=f"ticket_{ticket_id}",
            )
        if staff:
            continue
        if not ticket.on_sale(now):
            raise RegistrationClosed(
                _("“%(name)s” is not on sale at the moment.") % {"name": ticket.name},
                field=f"ticket_{ticket_id}",
            )
        if ticket.access_code and access_code.strip().casefold() != ticket.access_code.casefold():
            raise InvalidSelection(
                _("“%(name)s” needs an access code. Check the code you were given and try again.")
                % {"name": ticket.name},
                field="access_code",
            )
    return ticket_types


def _validate_add_ons(event, add_on_ids):
    ids = {int(pk) for pk in add_on_ids}
    if not ids:
        return {}
    found = {a.pk: a for a in AddOn.objects.filter(event=event, pk__in=ids)}
    if len(found) != len(ids):
        raise InvalidSelection(_("That add-on is not offered for this event."), field="add_ons")
    return found


def _waitlist_offer_for(token, user, event, now):
    entry = (
        WaitlistEntry.objects.select_related("event")
        .filter(claim_token=token, status=WaitlistStatus.OFFERED)
        .first()
    )
    if entry is None or entry.user_id != user.pk or (event and entry.event_id != event.pk):
        raise NotAllowed(_("This seat offer is not valid for your account."))
    if not entry.offer_is_open(now):
        raise RegistrationClosed(
            _("This seat offer has expired and passed to the next person on the waitlist.")
        )
    return entry


def get_waitlist_offer(token, user, now=None):
    """The open offer behind a claim link, for the claim page; raises if it is not claimable."""
    return _waitlist_offer_for(token, user, None, now or timezone.now())


def place_hold(*, purchaser, idempotency_key="", **options):
    """Reserve seats for `purchaser` and return the held Booking (see `_place_hold`).

    The same `idempotency_key` returns the first booking: a resubmitted form (double click,
    back button) gets the booking its first submission made, even if the event has filled
    up or closed since. That is looked up only when the attempt is refused; when it would
    succeed, the key's unique constraint stops the second booking (IntegrityError below), so
    a hold costs no extra query for it, inside the capacity lock or before it.
    """
    try:
        return _place_hold(purchaser=purchaser, idempotency_key=idempotency_key, **options)
    except RegistrationError:
        existing = _booking_with_key(purchaser, idempotency_key)
        if existing is None:
            raise
        return existing


def _booking_with_key(purchaser, idempotency_key):
    if not idempotency_key:
        return None
    return Booking.objects.filter(purchaser=purchaser, idempotency_key=idempotency_key).first()


def _place_hold(
    *,
    event,
    purchaser,
    tickets,
    attendees=None,
    add_ons=None,
    access_code="",
    idempotency_key="",
    waitlist_token=None,
    kind=BookingKind.ONLINE,
    actor=None,
    now=None,
):
    """Reserve seats for `purchaser` and return the held Booking.

    `tickets` maps ticket-type id to quantity; `attendees` optionally gives one dict of
    attendee details per seat (keys: ATTENDEE_FIELDS, `add_on_ids`, `invite`); `add_ons` maps
    add-on id to how many seats get it. Prices are read from the database at this moment and
    frozen on each registration.
    """
    now = now or timezone.now()
    actor = actor or purchaser
    staff = kind in (BookingKind.COMPLIMENTARY, BookingKind.SPEAKER)

    quantities = _parse_quantities(tickets)
    seats = sum(quantities.values())
    if not staff:
        if not event.live:
            raise RegistrationClosed(_("This event is not open for registration."))
        if not event.registration_is_open(now):
            raise RegistrationClosed(_("Registration for this event is closed."))
    ticket_types = _validate_tickets(
        event, quantities, access_code=access_code, now=now, staff=staff
    )

    attendees = list(attendees or [])
    if len(attendees) > seats:
        raise InvalidSelection(_("There are more attendees than seats. Please check the names."))
    add_on_counts = {int(k): int(v) for k, v in (add_ons or {}).items() if int(v)}
    wanted_add_ons = set(add_on_counts)
    for details in attendees:
        wanted_add_ons.update(int(pk) for pk in details.get("add_on_ids", ()))
    add_on_rows = _validate_add_ons(event, wanted_add_ons)
    if any(count > seats for count in add_on_counts.values()):
        raise InvalidSelection(_("Choose each add-on at most once per seat."), field="add_ons")

    entry = None
    if waitlist_token:
        entry = _waitlist_offer_for(waitlist_token, purchaser, event, now)
        if seats != 1:
            raise InvalidSelection(_("A waitlist offer is for one seat."))
        kind = BookingKind.WAITLIST

    # In a rush most attempts find the event full: tell them without queueing for the lock.
    # The unlocked count sees only committed seats, so a "sold out" it finds was true when
    # read; a hold is still written only after the same check under the lock.
    _check_seats(event, ticket_types, quantities, now, exclude_entry=entry)
    try:
        with transaction.atomic():
            # The booking and its audit record take no seat (seats are counted from
            # registrations), so they are written before the capacity lock: every statement
            # inside it is a round trip every other buyer of the event waits for. A double
            # click stops here, at the idempotency key's unique constraint, without queueing.
            booking = _new_booking(
                event=event,
                purchaser=purchaser,
                ticket_types=ticket_types,
                quantities=quantities,
                access_code=access_code,
                idempotency_key=idempotency_key,
                kind=kind,
                now=now,
                staff=staff,
            )
            record(
                "courses.booking.held",
                booking,
                actor=actor,
                after={
                    "status": booking.status,
                    "seats": seats,
                    "expires_at": booking.expires_at.isoformat() if booking.expires_at else "",
                    "approval": booking.approval_status,
                },
            )
            capacity.lock_capacity(event, ticket_types.values())
            _check_seats(event, ticket_types, quantities, now, exclude_entry=entry)
            capacity.reached_check_point()
            _add_seats(
                booking,
                purchaser=purchaser,
                ticket_types=ticket_types,
                quantities=quantities,
                attendees=attendees,
                add_on_counts=add_on_counts,
                add_on_rows=add_on_rows,
                now=now,
                staff=staff,
            )
            if entry is not None:
                entry.status = WaitlistStatus.CLAIMED
                entry.booking = booking
                entry.save(update_fields=["status", "booking"])
                record(
                    "courses.waitlist.claimed",
                    entry,
                    actor=actor,
                    after={"booking": str(booking.public_id)},
                )
    except IntegrityError:
        # A request with the same key was first (a double click); hand back its booking.
        existing = _booking_with_key(purchaser, idempotency_key)
        if existing is None:
            raise
        return existing
    if booking.approval_status == ApprovalStatus.PENDING:
        emails.send_approval_request_received(booking)
    return booking


def _check_seats(event, ticket_types, quantities, now, *, exclude_entry=None):
    seats = sum(quantities.values())
    left = capacity.event_seats_left(event, now, exclude_entry=exclude_entry)
    if seats > left:
        if left == 0:
            raise SoldOut(_("This event is sold out. You can join the waitlist."))
        raise SoldOut(
            _("Only %(left)s seat(s) are left. Please choose fewer tickets or join the waitlist.")
            % {"left": left}
        )
    for ticket_id, quantity in quantities.items():
        own = capacity.ticket_seats_left(ticket_types[ticket_id], now)
        if own is not None and quantity > own:
            raise SoldOut(
                _(
                    "Only %(left)s “%(name)s” ticket(s) are left. "
                    "Please choose fewer or another ticket."
                )
                % {"left": own, "name": ticket_types[ticket_id].name},
                field=f"ticket_{ticket_id}",
            )


def _new_booking(
    *, event, purchaser, ticket_types, quantities, access_code, idempotency_key, kind, now, staff
):
    needs_approval = not staff and any(ticket_types[t].requires_approval for t in quantities)
    return Booking.objects.create(
        event=event,
        purchaser=purchaser,
        kind=kind,
        currency=event.currency,
        status=BookingStatus.HELD,
        approval_status=ApprovalStatus.PENDING if needs_approval else ApprovalStatus.NOT_REQUIRED,
        expires_at=None if needs_approval else now + timedelta(minutes=event.hold_minutes),
        idempotency_key=idempotency_key,
        access_code_used=access_code.strip() if access_code else "",
    )


def _add_seats(
    booking,
    *,
    purchaser,
    ticket_types,
    quantities,
    attendees,
    add_on_counts,
    add_on_rows,
    now,
    staff,
):
    """One held registration per seat, with its add-ons and prices frozen now."""
    event = booking.event
    seat_index = 0
    remaining_add_ons = Counter(add_on_counts)
    for ticket_id in sorted(quantities):
        ticket = ticket_types[ticket_id]
        for _i in range(quantities[ticket_id]):
            if seat_index < len(attendees):
                details = dict(attendees[seat_index])
            elif seat_index == 0:
                details = _profile_details(purchaser)
            else:
                details = {}
            invite = bool(details.pop("invite", False))
            chosen = {int(pk) for pk in details.pop("add_on_ids", ())}
            for add_on_id in list(remaining_add_ons):
                if remaining_add_ons[add_on_id] > 0 and add_on_id not in chosen:
                    chosen.add(add_on_id)
                    remaining_add_ons[add_on_id] -= 1
            registration = Registration(
                booking=booking,
                event=event,
                ticket_type=ticket,
                unit_price=0 if staff else ticket.current_price(now),
                status=RegistrationStatus.HELD,
                **{k: v for k, v in details.items() if k in ATTENDEE_FIELDS},
            )
            if any(add_on_rows[a].grants_ce for a in chosen):
                registration.wants_ce = True
            registration.attendee = _attendee_account(registration, purchaser, invite)
            if invite:
                registration.invitation_token = new_token()
            registration.save()
            RegistrationAddOn.objects.bulk_create(
                RegistrationAddOn(
                    registration=registration,
                    add_on=add_on_rows[a],
                    unit_price=0 if staff else add_on_rows[a].price,
                )
                for a in sorted(chosen)
            )
            seat_index += 1
    return booking


def _attendee_account(registration, purchaser, invite):
    """Whose account the seat belongs to: the purchaser's own seat, or an existing account
    with the attendee's email when staff register someone; invited seats wait for a claim."""
    if invite:
        return None
    email = (registration.attendee_email or "").strip()
    if not email or email.casefold() == purchaser.email.casefold():
        return purchaser
    return None


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
                None if invite else _attendee_account(registration, booking.purchaser, False)
            )
        if "add_on_ids" in data and registration.status == RegistrationStatus.HELD:
            rows = _validate_add_ons(registration.event, data["add_on_ids"])
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


# -- money views for payments --------------------------------------------------------------------


def booking_line_items(booking):
    """Line items for payments: one per ticket type and per add-on, prices as frozen."""
    tickets = Counter()
    names = {}
    add_on_lines = Counter()
    add_on_names = {}
    registrations = booking.registrations.exclude(
        status__in=[RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED]
    ).select_related("ticket_type")
    for registration in registrations:
        key = (registration.ticket_type_id, registration.unit_price)
        tickets[key] += 1
        names[key] = registration.ticket_type.name
        for line in registration.add_on_lines.select_related("add_on"):
            add_key = (line.add_on_id, line.unit_price)
            add_on_lines[add_key] += 1
            add_on_names[add_key] = line.add_on.name
    items = [
        {
            "description": f"{booking.event.title}: {names[key]}",
            "quantity": count,
            "unit_amount": key[1],
            "currency": booking.currency,
            "kind": "ticket",
            "ref": key[0],
        }
        for key, count in sorted(tickets.items())
    ]
    items += [
        {
            "description": f"{booking.event.title}: {add_on_names[key]}",
            "quantity": count,
            "unit_amount": key[1],
            "currency": booking.currency,
            "kind": "addon",
            "ref": key[0],
        }
        for key, count in sorted(add_on_lines.items())
    ]
    return items


def booking_total(booking):
    """(amount in minor units, currency) for the booking, add-ons included, before discounts."""
    total = sum(item["quantity"] * item["unit_amount"] for item in booking_line_items(booking))
    return total, booking.currency


def booking_is_free(booking):
    return booking_total(booking)[0] == 0


# -- confirming and releasing ------------------------------------------------------------------


def confirm_registrations(booking, *, actor=None, now=None):
    """Confirm every held seat of `booking` and email each attendee. Idempotent.

    A hold that already expired is confirmed if its seats are still free; otherwise
    SeatsNoLongerAvailable is raised (payments then refunds).
    """
    now = now or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().select_related("event").get(pk=booking.pk)
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
                _check_seats(booking.event, ticket_types, quantities, now)
            except SoldOut:
                raise SeatsNoLongerAvailable(
                    _(
                        "Your reservation expired and the seats have been taken. "
                        "Any payment for them will be refunded."
                    )
                ) from None
        before = _snapshot(booking)
        for registration in registrations:
            registration.status = RegistrationStatus.CONFIRMED
            registration.confirmed_at = now
            registration.save(update_fields=["status", "confirmed_at"])
            record(
                "courses.registration.confirmed",
                registration,
                actor=actor,
                before={"status": "held"},
                after={"status": "confirmed"},
            )
            if registration.attendee_id:
                _grant_membership(registration, now, actor)
        booking.status = BookingStatus.CONFIRMED
        booking.confirmed_at = now
        booking.save(update_fields=["status", "confirmed_at", "updated_at"])
        record(
            "courses.booking.confirmed",
            booking,
            actor=actor,
            before=before,
            after=_snapshot(booking),
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


def release_registrations(booking, *, reason, actor=None, now=None):
    """Give back the booking's seats (expired hold, abandoned or refunded checkout) and offer
    them to the waitlist. Idempotent: a released booking is returned unchanged."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = Booking.objects.select_for_update().select_related("event").get(pk=booking.pk)
        if booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED):
            return booking
        # A hold that lapses (the timer, or a checkout whose payment window ran out) expires;
        # anything else (abandoned, refunded, rejected) is a cancellation.
        expiring = "expired" in reason and booking.status == BookingStatus.HELD
        new_status = BookingStatus.EXPIRED if expiring else BookingStatus.CANCELLED
        before = _snapshot(booking)
        for registration in booking.registrations.filter(
            status__in=[RegistrationStatus.HELD, RegistrationStatus.CONFIRMED]
        ):
            old = registration.status
            registration.status = (
                RegistrationStatus.EXPIRED
                if old == RegistrationStatus.HELD and expiring
                else RegistrationStatus.CANCELLED
            )
            registration.cancelled_at = now
            registration.save(update_fields=["status", "cancelled_at"])
            _revoke_membership(registration, now, actor)
            record(
                f"courses.registration.{registration.status}",
                registration,
                actor=actor,
                before={"status": old},
                after={"status": registration.status},
                note=reason,
            )
        booking.status = new_status
        booking.cancelled_at = now
        booking.save(update_fields=["status", "cancelled_at", "updated_at"])
        record(
            f"courses.booking.{new_status}",
            booking,
            actor=actor,
            before=before,
            after=_snapshot(booking),
            note=reason,
        )
    offer_waitlist_seats(booking.event, now=now)
    return booking


def expire_holds(now=None):
    """Expire every lapsed hold and pass freed seats on; run by Celery beat every minute."""
    now = now or timezone.now()
    expired = 0
    for booking in Booking.objects.filter(status=BookingStatus.HELD, expires_at__lte=now):
        release_registrations(booking, reason="expired", now=now)
        expired += 1
    expire_waitlist_offers(now)
    events = (
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING)
        .values_list("event_id", flat=True)
        .distinct()
    )
    from courses.models import EventPage

    for event in EventPage.objects.filter(pk__in=list(events)):
        offer_waitlist_seats(event, now=now)
    return expired


# -- approval ----------------------------------------------------------------------------------


def decide_approval(booking, *, approve, actor, now=None):
    """Staff approve (the purchaser then has the offer window to complete) or reject."""
    now = now or timezone.now()
    if not is_event_staff(actor):
        raise NotAllowed(_("Only event managers can approve registrations."))
    with transaction.atomic():
        booking = Booking.objects.select_for_update().select_related("event").get(pk=booking.pk)
        if booking.approval_status != ApprovalStatus.PENDING:
            return booking
        before = _snapshot(booking, ("approval_status", "expires_at"))
        booking.approval_status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        if approve:
            booking.expires_at = now + timedelta(hours=booking.event.waitlist_offer_hours)
        booking.save(update_fields=["approval_status", "expires_at", "updated_at"])
        record(
            "courses.booking.approved" if approve else "courses.booking.rejected",
            booking,
            actor=actor,
            before=before,
            after=_snapshot(booking, ("approval_status", "expires_at")),
        )
    if not approve:
        release_registrations(booking, reason="approval rejected", actor=actor, now=now)
        booking.refresh_from_db()
    emails.send_approval_decision(booking)
    return booking


# -- cancel and transfer -----------------------------------------------------------------------


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
        _revoke_membership(registration, now, actor)
        record(
            "courses.registration.cancelled",
            registration,
            actor=actor,
            before={"status": old},
            after={"status": "cancelled"},
            note=note or ("by staff" if by_staff else "by attendee"),
        )
        booking = registration.booking
        if not booking.registrations.filter(
            status__in=[RegistrationStatus.HELD, RegistrationStatus.CONFIRMED]
        ).exists():
            before = _snapshot(booking)
            booking.status = BookingStatus.CANCELLED
            booking.cancelled_at = now
            booking.save(update_fields=["status", "cancelled_at", "updated_at"])
            record(
                "courses.booking.cancelled",
                booking,
                actor=actor,
                before=before,
                after=_snapshot(booking),
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
        _revoke_membership(registration, now, actor)
        if account:
            _grant_membership(successor, now, actor)
        record(
            "courses.registration.transferred",
            registration,
            actor=actor,
            before={"status": "confirmed", "attendee_email": registration.attendee_email},
            after={"status": "transferred", "to": str(successor.public_id)},
        )
        record(
            "courses.registration.confirmed",
            successor,
            actor=actor,
            after={"status": "confirmed", "from": str(registration.public_id)},
            note="transfer",
        )
    emails.send_registration_confirmation(successor, transferred=True)
    return successor


# -- group bookings: invited seats -------------------------------------------------------------


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
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
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
            _grant_membership(registration, now, user)
    if registration.status == RegistrationStatus.CONFIRMED:
        emails.send_registration_confirmation(registration)
    return registration


# -- waitlist ----------------------------------------------------------------------------------


def join_waitlist(event, *, user, ticket_type=None, now=None):
    """Put `user` on a full event's waitlist (once); returns the entry."""
    now = now or timezone.now()
    if not event.registration_is_open(now):
        raise RegistrationClosed(_("Registration for this event is closed."))
    if ticket_type is not None and ticket_type.event_id != event.pk:
        raise InvalidSelection(_("That ticket is not offered for this event."))
    existing = WaitlistEntry.objects.filter(
        event=event, user=user, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    ).first()
    if existing:
        return existing
    if (
        capacity.event_seats_left(event, now) > 0
        and not WaitlistEntry.objects.filter(event=event, status=WaitlistStatus.WAITING).exists()
    ):
        raise InvalidSelection(_("Seats are still available: you can register now."))
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(event=event, user=user, ticket_type=ticket_type)
        record("courses.waitlist.joined", entry, actor=user, after={"status": "waiting"})
    return entry


def leave_waitlist(entry, *, actor, now=None):
    now = now or timezone.now()
    if entry.user_id != actor.pk and not is_event_staff(actor):
        raise NotAllowed(_("You can only leave your own waitlist place."))
    if entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
        return entry
    was_offered = entry.status == WaitlistStatus.OFFERED
    with transaction.atomic():
        before = _snapshot(entry)
        entry.status = WaitlistStatus.CANCELLED
        entry.save(update_fields=["status"])
        record("courses.waitlist.left", entry, actor=actor, before=before, after=_snapshot(entry))
    if was_offered:
        offer_waitlist_seats(entry.event, now=now)
    return entry


def offer_waitlist_seats(event, *, now=None):
    """Offer each free seat to the next person waiting; the offer holds the seat for them
    for the event's offer window. Returns the entries offered."""
    now = now or timezone.now()
    with transaction.atomic():
        capacity.lock_capacity(event)
        free = capacity.event_seats_left(event, now)
        if free <= 0:
            return []
        entries = list(
            WaitlistEntry.objects.select_for_update()
            .filter(event=event, status=WaitlistStatus.WAITING)
            .select_related("user")
            .order_by("created_at", "id")[:free]
        )
        for entry in entries:
            entry.status = WaitlistStatus.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = now + timedelta(hours=event.waitlist_offer_hours)
            entry.claim_token = new_token()
            entry.save(update_fields=["status", "offered_at", "offer_expires_at", "claim_token"])
            record(
                "courses.waitlist.offered",
                entry,
                after={"status": "offered", "offer_expires_at": entry.offer_expires_at.isoformat()},
            )
    for entry in entries:
        emails.send_waitlist_offer(entry)
    return entries


def expire_waitlist_offers(now=None):
    """Unclaimed offers past their time lapse; their seats pass to the next person."""
    now = now or timezone.now()
    events = set()
    for entry in WaitlistEntry.objects.filter(
        status=WaitlistStatus.OFFERED, offer_expires_at__lte=now
    ).select_related("event"):
        entry.status = WaitlistStatus.EXPIRED
        entry.save(update_fields=["status"])
        record(
            "courses.waitlist.expired",
            entry,
            before={"status": "offered"},
            after={"status": "expired"},
        )
        events.add(entry.event)
    for event in events:
        offer_waitlist_seats(event, now=now)
    return len(events)


# -- staff: manual registrations and messages -----------------------------------------------------


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
    from courses.tasks import send_registrant_message

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


# -- access: materials, join link, member area --------------------------------------------------


def has_confirmed_seat(user, event):
    if not user or not user.is_authenticated:
        return False
    return Registration.objects.filter(
        event=event, attendee=user, status=RegistrationStatus.CONFIRMED
    ).exists()


def can_download_material(user, material, now=None):
    """Confirmed registrants (once released) and event/CE staff may download; nobody else."""
    now = now or timezone.now()
    if not user or not user.is_authenticated:
        return False
    if can(user, Perm.MANAGE_REGISTRATIONS, Perm.ISSUE_CERTIFICATES):
        return True
    if material.available_from and now < material.available_from:
        return False
    return has_confirmed_seat(user, material.event)


def join_link_visible(registration, now=None):
    """The webinar link shows to the confirmed attendee from the set time before the start
    until the event ends."""
    now = now or timezone.now()
    event = registration.event
    if registration.status != RegistrationStatus.CONFIRMED or not event.join_url:
        return False
    opens = event.join_link_visible_from
    if opens is None or now < opens:
        return False
    return not (event.ends_at and now > event.ends_at)


def join_link_for(registration, now=None):
    return registration.event.join_url if join_link_visible(registration, now) else ""


def add_months(moment, months):
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _grant_membership(registration, now, actor):
    event = registration.event
    if not event.member_group_id or not event.membership_months or not registration.attendee_id:
        return None
    grant, created = MembershipGrant.objects.get_or_create(
        registration=registration,
        defaults={
            "user_id": registration.attendee_id,
            "group_id": event.member_group_id,
            "starts_at": now,
            "expires_at": add_months(now, event.membership_months),
        },
    )
    if created:
        registration.attendee.groups.add(event.member_group_id)
        record(
            "courses.membership.granted",
            grant,
            actor=actor,
            after={"expires_at": grant.expires_at.isoformat()},
        )
    return grant


def _remove_from_group_unless_covered(user_id, group_id, now):
    still_covered = MembershipGrant.objects.filter(
        user_id=user_id, group_id=group_id, revoked_at__isnull=True, expires_at__gt=now
    ).exists()
    if not still_covered:
        get_user_model().groups.through.objects.filter(user_id=user_id, group_id=group_id).delete()


def _revoke_membership(registration, now, actor):
    grant = MembershipGrant.objects.filter(
        registration=registration, revoked_at__isnull=True
    ).first()
    if grant is None:
        return
    grant.revoked_at = now
    grant.save(update_fields=["revoked_at"])
    _remove_from_group_unless_covered(grant.user_id, grant.group_id, now)
    record("courses.membership.revoked", grant, actor=actor, after={"revoked_at": now.isoformat()})


def lapse_memberships(now=None):
    """Take people out of member groups when their last grant has run out (Celery beat)."""
    now = now or timezone.now()
    lapsed = 0
    for grant in MembershipGrant.objects.filter(expires_at__lte=now, lapsed_at__isnull=True):
        with transaction.atomic():
            _remove_from_group_unless_covered(grant.user_id, grant.group_id, now)
            grant.lapsed_at = now
            grant.save(update_fields=["lapsed_at"])
            record("courses.membership.lapsed", grant, after={"lapsed_at": now.isoformat()})
        lapsed += 1
    return lapsed
