"""Seat counting and the capacity lock.

Availability is always computed from rows (capacity minus confirmed seats, unexpired holds and
open waitlist offers), never kept in a counter that could drift. Whoever is about to add seats
takes `capacity_lock` first, inside a transaction, so two checkouts cannot both see the last
seat free. On PostgreSQL the lock is `SELECT ... FOR NO KEY UPDATE` on the event row and then
on each ticket-type row, always in that order (event first, tickets by id) so two transactions never
wait on each other in a cycle. On SQLite the settings open every transaction with BEGIN
IMMEDIATE, which already serialises writers, and `select_for_update` is a no-op.
"""

import uuid
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Q, UUIDField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from cms.locking import busy_on_lock_timeout, locked, require_transaction, with_lock_timeout
from courses.models import (
    Booking,
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


def lock_capacity(event, ticket_types=(), *, count_at=None, exclude_entry=None):
    """Lock the capacity rows of `event` and `ticket_types` inside the caller's transaction.

    Refuses to run outside `transaction.atomic()` (`cms.locking.LockOutsideTransaction`): a
    lock taken in autocommit is released at once. On PostgreSQL a wait past the lock timeout
    raises `cms.locking.Busy` ("try again in a moment") instead of queueing without end.

    `count_at`: also count the event's seats taken at that moment, after the lock is held, and
    return the count (None when it was not made here: the caller counts). On PostgreSQL, when
    no ticket has its own quota, the lock and the count go in one round trip as two statements:
    each statement of a multi-statement query takes its own snapshot (READ COMMITTED), so the
    count, run once the lock is granted, sees every seat committed by whoever held it before.
    """
    require_transaction()
    if not locking_enabled or not connection.features.has_select_for_update:
        return None
    # A ticket row is a capacity row only when the ticket has its own quota.
    ids = sorted({t.pk for t in ticket_types if t.capacity is not None})
    if count_at is not None and not ids and connection.vendor == "postgresql":
        return _lock_event_and_count(event, count_at, exclude_entry)
    # FOR NO KEY UPDATE: lockers still queue one at a time, but rows that merely point at the
    # event (a booking written earlier in the same transaction, or by another buyer) do not
    # conflict with it, so writing the booking before taking the lock cannot deadlock.
    # No ordering: the page's default order (its tree path) would join the page table.
    locked(
        EventPage.objects.filter(pk=event.pk).order_by().values_list("pk", flat=True),
        of=("self",),
        no_key=True,
    )
    if ids:
        locked(
            TicketType.objects.filter(pk__in=ids).order_by("pk").values_list("pk", flat=True),
            no_key=True,
        )
    return None


def _lock_event_and_count(event, now, exclude_entry):
    """PostgreSQL: lock the event row (with the lock timeout) and count its seats, one trip."""
    # Without parameters psycopg sends the text as one simple query, which may hold several
    # statements; the values are quoted by the driver (compose_sql), never by hand.
    sql = ";\n".join(
        [
            _event_lock_sql(event.pk, getattr(settings, "DB_LOCK_TIMEOUT", None)),
            connection.ops.compose_sql(
                _seats_taken_sql(exclude_entry),
                _seats_taken_params(event.pk, now, exclude_entry),
            ),
        ]
    )
    with busy_on_lock_timeout(), connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.nextset()
        return cursor.fetchone()[0]


@lru_cache(maxsize=1024)
def _event_lock_sql(event_id, lock_timeout_setting):
    """The statement that locks one event's row, built once per process for each event (and
    lock timeout setting, which `with_lock_timeout` reads): the ORM takes longer to build it
    than PostgreSQL takes to run it, and every buyer in a rush waits for it."""
    lock = with_lock_timeout(
        EventPage.objects.filter(pk=event_id).order_by().values_list("pk", flat=True)
    ).select_for_update(of=("self",), no_key=True)
    return connection.ops.compose_sql(*lock.query.sql_with_params())


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


def event_seats_taken(event, now=None, *, exclude_entry=None):
    """Confirmed seats, unexpired holds and open waitlist offers, counted in one query."""
    return _seats_taken(event.pk, now or timezone.now(), exclude_entry=exclude_entry)


def _seats_taken_sql(exclude_entry, event="%s"):
    # The same rows as `_seat_taking_registrations` and `open_offers`, written out once: this
    # count runs on every event page view and twice per seat hold, and building it with the
    # ORM cost several times what the database needs to answer it. `event`: a parameter, or
    # the outer query's event column when the count rides in the event's own query.
    registration, booking = Registration._meta.db_table, Booking._meta.db_table
    waitlist = WaitlistEntry._meta.db_table
    return (
        f"SELECT (SELECT COUNT(*) FROM {registration} r"  # noqa: S608 - names from _meta, values as params
        f" INNER JOIN {booking} b ON b.id = r.booking_id"
        f" WHERE r.event_id = {event} AND (r.status = %s"
        " OR (r.status = %s AND (b.expires_at > %s OR b.expires_at IS NULL))))"
        f" + (SELECT COUNT(*) FROM {waitlist} w"
        f" WHERE w.event_id = {event} AND w.status = %s AND w.offer_expires_at > %s"
        + (" AND w.id <> %s)" if exclude_entry is not None else ")")
    )


def _seats_taken_params(event_id, now, exclude_entry):
    """The count's parameters; `event_id` None when the count names the outer event column."""
    moment = connection.ops.adapt_datetimefield_value(now)
    event = [] if event_id is None else [event_id]
    params = [*event, RegistrationStatus.CONFIRMED.value, RegistrationStatus.HELD.value, moment]
    params += [*event, WaitlistStatus.OFFERED.value, moment]
    if exclude_entry is not None:
        params.append(exclude_entry.pk)
    return params


def _seats_taken(event_id, now, *, exclude_entry=None):
    with connection.cursor() as cursor:
        cursor.execute(
            _seats_taken_sql(exclude_entry), _seats_taken_params(event_id, now, exclude_entry)
        )
        return cursor.fetchone()[0]


def seats_taken_and_booking(event, now, *, purchaser, idempotency_key, exclude_entry=None):
    """`event_seats_taken` and, in the same query, the public id of `purchaser`'s booking made with
    `idempotency_key` (None when there is none, or no key): a hold attempt learns both whether
    it was already placed (a double click) and whether seats remain in one round trip."""
    sql = _seats_taken_sql(exclude_entry)
    params = _seats_taken_params(event.pk, now, exclude_entry)
    if idempotency_key:
        sql += (
            f", (SELECT public_id FROM {Booking._meta.db_table}"  # noqa: S608 - name from _meta
            " WHERE purchaser_id = %s AND idempotency_key = %s)"
        )
        params += [purchaser.pk, idempotency_key]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    booking = row[1] if idempotency_key else None
    # SQLite hands a UUID back as 32 hex digits, PostgreSQL as a UUID: give both as a UUID.
    return row[0], (None if booking is None else uuid.UUID(str(booking)))


class SeatsCounted(NamedTuple):
    """A count made in the query that loaded the event (`seats_counted_annotations`): the seats
    taken at `at`, and the public id of the booking `idempotency_key` already made (or None)."""

    at: datetime
    taken: int
    idempotency_key: str
    booking_public_id: uuid.UUID | None


def seats_counted_annotations(now, *, purchaser, idempotency_key=""):
    """Columns for a query of event pages that count each event's seats taken at `now` and
    find `purchaser`'s booking made with `idempotency_key`: a hold attempt loads its event,
    learns whether seats remain and whether it was already placed (a double click) in one
    round trip. Read them with `attach_seats_counted`."""
    quote = connection.ops.quote_name
    event_column = f"{quote(EventPage._meta.db_table)}.{quote(EventPage._meta.pk.column)}"
    annotations = {
        "seats_taken_on_load": RawSQL(  # noqa: S611 - names from _meta, values as params
            _seats_taken_sql(None, event=event_column), _seats_taken_params(None, now, None)
        )
    }
    if idempotency_key:
        annotations["booking_with_key_on_load"] = RawSQL(  # noqa: S611 - as above
            f"SELECT public_id FROM {Booking._meta.db_table}"  # noqa: S608 - name from _meta
            " WHERE purchaser_id = %s AND idempotency_key = %s",
            [purchaser.pk, idempotency_key],
            output_field=UUIDField(),
        )
    return annotations


def attach_seats_counted(event, now, idempotency_key=""):
    """Keep what `seats_counted_annotations` read with `event` as `event.seats_counted`."""
    booking = getattr(event, "booking_with_key_on_load", None) if idempotency_key else None
    event.seats_counted = SeatsCounted(
        now,
        event.seats_taken_on_load,
        idempotency_key,
        # SQLite hands a UUID back as 32 hex digits, PostgreSQL as a UUID: give both as a UUID.
        None if booking is None else uuid.UUID(str(booking)),
    )
    return event


def event_seats_left(event, now=None, *, exclude_entry=None):
    return max(0, event.capacity - event_seats_taken(event, now, exclude_entry=exclude_entry))


def seats_left_for_event(event_id, capacity, now=None):
    """`event_seats_left` for callers that know the event's id and capacity but have not
    loaded the page (the page cache picking the copy with the live seat count)."""
    return max(0, capacity - _seats_taken(event_id, now or timezone.now()))


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
