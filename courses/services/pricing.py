"""Money views of a booking for payments and the checkout pages: line items and totals, at
the prices frozen on each registration when the seats were held.

Member prices are checked twice on the server: when the seats are held (`holds`), and again
here whenever an unpaid booking is priced (payments derives its order from
`booking_line_items` before every Checkout and invoice). A purchaser whose membership has
ended since the hold pays the normal price for seats held at the member price, and the
registrations are re-priced so that refunds and CE rules read what was paid.
"""

from collections import Counter

from django.db import transaction
from django.utils import timezone

from cms.audit import record
from courses.models import BookingKind, BookingStatus, Registration, RegistrationStatus

from .holds import members_only_refusal
from .membership import member_at

# Bookings priced by the buyer's choice (staff bookings are free and never re-priced).
BOUGHT = (BookingKind.ONLINE, BookingKind.WAITLIST)


def booking_line_items(booking, now=None):
    """Line items for payments: one per ticket type and per add-on, prices as frozen (a
    member price only while the purchaser is still a member)."""
    tickets = Counter()
    names = {}
    add_on_lines = Counter()
    add_on_names = {}
    registrations = list(
        booking.registrations.exclude(
            status__in=[RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED]
        ).select_related("ticket_type")
    )
    follow_membership(booking, registrations, now)
    for registration in registrations:
        key = (registration.ticket_type_id, registration.unit_price)
        tickets[key] += 1
        names[key] = _ticket_line_name(registration)
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


def _at_member_price(registration):
    """Whether the seat was held at its ticket's member price (below the price).

    Told from the frozen price, as a registration keeps no mark of its own: only a member is
    given exactly the member price (a lower early-bird price is everyone's, and is kept). A
    member price staff change while a seat is held makes that seat look like anyone's.
    """
    ticket = registration.ticket_type
    return (
        ticket.member_price is not None
        and registration.unit_price == ticket.member_price
        and ticket.member_price < ticket.price
    )


def _ticket_line_name(registration):
    # Not translated: the description is stored on the order and compared when the order
    # is re-derived, so it must read the same whoever's request priced it.
    if _at_member_price(registration):
        return f"{registration.ticket_type.name} (member price)"
    return registration.ticket_type.name


def _needs_membership(booking, registrations):
    """The held seats of a bought booking whose price or ticket depends on membership."""
    if booking.status != BookingStatus.HELD or booking.kind not in BOUGHT:
        return []
    return [
        r
        for r in registrations
        if r.status == RegistrationStatus.HELD
        and (r.ticket_type.members_only or _at_member_price(r))
    ]


def follow_membership(booking, registrations, now=None):
    """Re-price the held seats of a purchaser who is no longer a member: a seat held at the
    member price costs what a non-member paid at hold time (the early-bird price if it
    applied then). Asks about membership (one query) only when such a seat exists; writes
    only when a price changes. Members-only seats are left to `check_member_tickets`."""
    seats = [r for r in _needs_membership(booking, registrations) if _at_member_price(r)]
    if not seats or member_at(booking.purchaser, now or timezone.now()):
        return
    held_at = booking.created_at
    changed = []
    with transaction.atomic():
        for registration in seats:
            normal = registration.ticket_type.current_price(held_at)
            # Conditional: a second request re-pricing the same seat at once changes nothing.
            updated = Registration.objects.filter(
                pk=registration.pk,
                status=RegistrationStatus.HELD,
                unit_price=registration.unit_price,
            ).update(unit_price=normal)
            if updated:
                changed.append({"registration": registration.pk, "from": registration.unit_price})
            registration.unit_price = normal
        if changed:
            record(
                "courses.booking.repriced",
                booking,
                after={"seats": changed},
                note="The purchaser is no longer a member: member prices no longer apply.",
            )


def check_member_tickets(booking, now=None):
    """Refuse (InvalidSelection, with how to join) to take payment for a members-only seat
    whose purchaser is no longer a member. Call it before Checkout or an invoice."""
    registrations = list(
        booking.registrations.filter(
            status=RegistrationStatus.HELD, ticket_type__members_only=True
        ).select_related("ticket_type")
    )
    if not _needs_membership(booking, registrations):
        return
    if member_at(booking.purchaser, now or timezone.now()):
        return
    raise members_only_refusal(registrations[0].ticket_type, lapsed=True)


def booking_total(booking):
    """(amount in minor units, currency) for the booking, add-ons included, before discounts."""
    total = sum(item["quantity"] * item["unit_amount"] for item in booking_line_items(booking))
    return total, booking.currency


def booking_is_free(booking):
    return booking_total(booking)[0] == 0
