"""Holding seats: the checks a booking must pass and the held registrations it creates.

A hold ends in `confirmation` (confirmed, or released as expired or cancelled).
"""

from collections import Counter
from datetime import timedelta
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import record
from courses import capacity, emails
from courses.models import (
    AddOn,
    ApprovalStatus,
    Booking,
    BookingKind,
    BookingStatus,
    Registration,
    RegistrationAddOn,
    RegistrationStatus,
    TicketType,
    WaitlistStatus,
    new_token,
)

from .common import ATTENDEE_FIELDS
from .errors import InvalidSelection, RegistrationClosed, RegistrationError, SoldOut
from .membership import join_url, member_at
from .waitlist import waitlist_offer_for


def _profile_details(user):
    return {
        "attendee_name": user.legal_name,
        "attendee_email": user.email,
        "profession": user.profession,
    }


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


def _validate_tickets(event, quantities, *, access_code, now, staff, offered=None):
    """Check every chosen ticket against the database (never trust what the form says).

    `offered` is the event's ticket types when the caller has just read them from the
    database in this request (the registration form does), to spare a second read.
    """
    if offered is None:
        offered = TicketType.objects.filter(event=event, pk__in=quantities)
    ticket_types = {t.pk: t for t in offered if t.pk in quantities and t.event_id == event.pk}
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


def members_only_refusal(ticket, *, field=None, lapsed=False):
    """The refusal of a members-only ticket to someone who is not (or no longer) a member,
    saying how to join."""
    if lapsed:
        message = _(
            "“%(name)s” is for members of the member site only, and your membership has "
            "ended, so this booking cannot be paid."
        ) % {"name": ticket.name}
    else:
        message = _("“%(name)s” is for members of the member site only.") % {"name": ticket.name}
    where = join_url()
    if where:
        message += " " + _("To book it, join first: see %(url)s") % {"url": where}
    return InvalidSelection(message, field=field)


def purchaser_is_member(purchaser, ticket_types, now):
    """Whether the purchaser is a member now, asked (one query) only when a chosen ticket
    has a member price or is for members only; refuses a members-only ticket otherwise."""
    chosen = [t for t in ticket_types.values() if t.for_members]
    if not chosen:
        return False
    member = member_at(purchaser, now)
    if not member:
        for ticket in chosen:
            if ticket.members_only:
                raise members_only_refusal(ticket, field=f"ticket_{ticket.pk}")
    return member


def validate_add_ons(event, add_on_ids, *, offered=None):
    ids = {int(pk) for pk in add_on_ids}
    if not ids:
        return {}
    if offered is None:
        offered = AddOn.objects.filter(event=event, pk__in=ids)
    found = {a.pk: a for a in offered if a.pk in ids and a.event_id == event.pk}
    if len(found) != len(ids):
        raise InvalidSelection(_("That add-on is not offered for this event."), field="add_ons")
    return found


class SeatCheck(NamedTuple):
    """What a hold attempt's first look found: seats taken (confirmed, held, offered) and the
    booking this purchaser already made with the attempt's idempotency key (its public id, or
    None)."""

    taken: int
    booking_public_id: object

    def full(self, event):
        return self.booking_public_id is None and self.taken >= event.capacity


def check_before_choosing(event, *, purchaser, idempotency_key="", now=None):
    """The first, unlocked look of an online hold attempt, made before the choice is read.

    In a rush most attempts find the event full; one query tells them (and finds a double
    click's booking) without loading ticket types or add-ons, and none when the event was
    loaded with `capacity.seats_counted_annotations` for the same key (the register view's
    event comes with its count). Pass the result to `place_hold` as `seat_check` so the count
    is not made again.
    """
    counted = getattr(event, "seats_counted", None)
    if counted is not None and counted.idempotency_key == idempotency_key:
        return SeatCheck(counted.taken, counted.booking_public_id)
    return SeatCheck(
        *capacity.seats_taken_and_booking(
            event, now or timezone.now(), purchaser=purchaser, idempotency_key=idempotency_key
        )
    )


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
    except SoldOut:
        # Sold out is only found after the key was looked up in the seat count's own query
        # (before the lock), or after this attempt's booking was written with the key (in
        # it): either way no earlier booking has this key, so no second look.
        raise
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
    offered_tickets=None,
    offered_add_ons=None,
    seat_check=None,
):
    """Reserve seats for `purchaser` and return the held Booking.

    `tickets` maps ticket-type id to quantity; `attendees` optionally gives one dict of
    attendee details per seat (keys: ATTENDEE_FIELDS, `add_on_ids`, `invite`); `add_ons` maps
    add-on id to how many seats get it. Prices are read from the database at this moment and
    frozen on each registration. `offered_tickets` / `offered_add_ons`: the event's ticket
    types and add-ons when the caller read them from the database in this request;
    `seat_check`: the `check_before_choosing` this request made, used as the unlocked count.
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
        event, quantities, access_code=access_code, now=now, staff=staff, offered=offered_tickets
    )
    # Asked at hold time and frozen in the seat's price; asked again before payment
    # (courses.services.pricing), so a membership that ends in between is not paid for.
    member = False if staff else purchaser_is_member(purchaser, ticket_types, now)

    attendees = list(attendees or [])
    if len(attendees) > seats:
        raise InvalidSelection(_("There are more attendees than seats. Please check the names."))
    add_on_counts = {int(k): int(v) for k, v in (add_ons or {}).items() if int(v)}
    wanted_add_ons = set(add_on_counts)
    for details in attendees:
        wanted_add_ons.update(int(pk) for pk in details.get("add_on_ids", ()))
    add_on_rows = validate_add_ons(event, wanted_add_ons, offered=offered_add_ons)
    if any(count > seats for count in add_on_counts.values()):
        raise InvalidSelection(_("Choose each add-on at most once per seat."), field="add_ons")

    entry = None
    if waitlist_token:
        entry = waitlist_offer_for(waitlist_token, purchaser, event, now)
        if seats != 1:
            raise InvalidSelection(_("A waitlist offer is for one seat."))
        kind = BookingKind.WAITLIST

    # In a rush most attempts find the event full: tell them without queueing for the lock.
    # The unlocked count sees only committed seats, so a "sold out" it finds was true when
    # read; a hold is still written only after the same check under the lock. The same
    # query finds a booking this purchaser already made with the key (a double click).
    if seat_check is None or entry is not None:
        seat_check = capacity.seats_taken_and_booking(
            event, now, purchaser=purchaser, idempotency_key=idempotency_key, exclude_entry=entry
        )
    taken, existing = seat_check
    if existing is not None:
        return Booking.objects.get(public_id=existing)
    check_seats(
        event,
        ticket_types,
        quantities,
        now,
        exclude_entry=entry,
        left=max(0, event.capacity - taken),
    )
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
            taken = capacity.lock_capacity(
                event, ticket_types.values(), count_at=now, exclude_entry=entry
            )
            check_seats(
                event,
                ticket_types,
                quantities,
                now,
                exclude_entry=entry,
                left=None if taken is None else max(0, event.capacity - taken),
            )
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
                member=member,
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


def check_seats(event, ticket_types, quantities, now, *, exclude_entry=None, left=None):
    """Refuse (SoldOut) unless the seats are free; `left`: the event's count, if just made."""
    seats = sum(quantities.values())
    if left is None:
        left = capacity.event_seats_left(event, now, exclude_entry=exclude_entry)
    if seats > left:
        if left == 0:
            raise SoldOut(_("This event is sold out. You can join the waitlist."), seats_left=0)
        raise SoldOut(
            _("Only %(left)s seat(s) are left. Please choose fewer tickets or join the waitlist.")
            % {"left": left},
            seats_left=left,
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
    member=False,
):
    """One held registration per seat, with its add-ons and prices frozen now (a member's
    price when the purchaser is a member: they buy every seat of the booking)."""
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
                unit_price=0 if staff else ticket.price_for(member=member, now=now),
                status=RegistrationStatus.HELD,
                **{k: v for k, v in details.items() if k in ATTENDEE_FIELDS},
            )
            if any(add_on_rows[a].grants_ce for a in chosen):
                registration.wants_ce = True
            registration.attendee = attendee_account(registration, purchaser, invite)
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


def attendee_account(registration, purchaser, invite):
    """Whose account the seat belongs to: the purchaser's own seat, or an existing account
    with the attendee's email when staff register someone; invited seats wait for a claim."""
    if invite:
        return None
    email = (registration.attendee_email or "").strip()
    if not email or email.casefold() == purchaser.email.casefold():
        return purchaser
    return None


def one_step_ticket(
    event, *, purchaser, ticket_types=None, add_ons=None, asks_required_question=None, now=None
):
    """The free ticket a signed-in member can take for themselves in one step, or None.

    One step means nothing to choose or answer: exactly one ticket on sale, free, for one
    seat, with no access code and no approval; no add-ons; no required question; and a legal
    name on the account to print on the certificate. Anything else keeps the full steps.
    `ticket_types` / `add_ons` / `asks_required_question`: the event's, when the caller has
    read them already (the event page keeps them under the content generation).
    """
    if not (purchaser and purchaser.is_authenticated and purchaser.legal_name.strip()):
        return None
    now = now or timezone.now()
    tickets = list(event.ticket_types.all() if ticket_types is None else ticket_types)
    on_sale = [t for t in tickets if t.on_sale(now)]
    if len(on_sale) != 1:
        return None
    ticket = on_sale[0]
    if (
        ticket.current_price(now) != 0
        or ticket.access_code
        or ticket.members_only
        or ticket.requires_approval
        or ticket.min_per_order != 1
        or ticket.max_per_order < 1
    ):
        return None
    if list(event.add_ons.all() if add_ons is None else add_ons):
        return None
    if asks_required_question is None:
        asks_required_question = event.questions.filter(required=True).exists()
    if asks_required_question:
        return None
    return ticket
