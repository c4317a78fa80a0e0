"""Seat counting and the capacity lock.

Availability is always computed from rows (capacity minus confirmed seats, unexpired holds and
open waitlist offers), never kept in a counter that could drift. Whoever is about to add seats
takes `capacity_lock` first, inside a transaction, so two checkouts cannot both see the last
seat free. On PostgreSQL the lock is `SELECT ... FOR UPDATE` on the event row and then on each
ticket-type row, always in that order (event first, tickets by id) so two transactions never
wait on each other in a cycle. On SQLite the settings open every transaction with BEGIN
IMMEDIATE, which already serialises writers, and `select_for_update` is a no-op.
"""

from django.db import connection
from django.db.models import Count, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from courses.models import (
    EventPage,
    Registration,
    RegistrationStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)

# Only the concurrency test turns these knobs: with `locking_enabled` False it shows that the
# same code oversells without the lock, and `after_availability_check` lets it hold every
# thread between reading the count and writing the hold, to force the race.
locking_enabled = True
after_availability_check = None


def lock_capacity(event, ticket_types=()):
    """Lock the capacity rows of `event` and `ticket_types`; call inside transaction.atomic()."""
    if not locking_enabled or not connection.features.has_select_for_update:
        return
    list(
        EventPage.objects.select_for_update(of=("self",))
        .filter(pk=event.pk)
        .values_list("pk", flat=True)
    )
    # A ticket row is a capacity row only when the ticket has its own quota.
    ids = sorted({t.pk for t in ticket_types if t.capacity is not None})
    if ids:
        list(
            TicketType.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _seat_taking_registrations(now):
    """Registrations that occupy a seat at `now`."""
    return Registration.objects.filter(
        Q(status=RegistrationStatus.CONFIRMED)
        | Q(status=RegistrationStatus.HELD, booking__expires_at__gt=now)
        # A booking waiting for staff approval keeps its seats without an expiry.
        | Q(status=RegistrationStatus.HELD, booking__expires_at__isnull=True)
    )


def open_offers(event, now, *, exclude_entry=None):
    offers = WaitlistEntry.objects.filter(
        event=event, status=WaitlistStatus.OFFERED, offer_expires_at__gt=now
    )
    if exclude_entry is not None:
        offers = offers.exclude(pk=exclude_entry.pk)
    return offers


def _count(queryset):
    """A correlated COUNT subquery, so several counts travel in one round trip."""
    counted = queryset.order_by().values("event").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


def event_seats_taken(event, now=None, *, exclude_entry=None):
    """Confirmed seats, unexpired holds and open waitlist offers, counted in one query."""
    now = now or timezone.now()
    registrations = _seat_taking_registrations(now).filter(event=event.pk)
    offers = open_offers(event, now, exclude_entry=exclude_entry)
    held, offered = (
        EventPage.objects.filter(pk=event.pk)
        .annotate(held=_count(registrations), offered=_count(offers))
        .values_list("held", "offered")
        .get()
    )
    return held + offered


def event_seats_left(event, now=None, *, exclude_entry=None):
    return max(0, event.capacity - event_seats_taken(event, now, exclude_entry=exclude_entry))


def ticket_seats_left(ticket_type, now=None):
    """Seats left for one ticket type: its own quota if it has one, else None (no limit)."""
    if ticket_type.capacity is None:
        return None
    now = now or timezone.now()
    taken = _seat_taking_registrations(now).filter(ticket_type=ticket_type).count()
    return max(0, ticket_type.capacity - taken)


def seats_left_for(ticket_type, event, now=None, *, exclude_entry=None):
    """The tighter of the event's and the ticket type's remaining seats."""
    left = event_seats_left(event, now, exclude_entry=exclude_entry)
    own = ticket_seats_left(ticket_type, now)
    return left if own is None else min(left, own)


def reached_check_point():
    """Called between counting and writing; a no-op outside the concurrency test."""
    if after_availability_check is not None:
        after_availability_check()
