"""Money views of a booking for payments and the checkout pages: line items and totals, at
the prices frozen on each registration when the seats were held."""

from collections import Counter

from courses.models import RegistrationStatus


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
