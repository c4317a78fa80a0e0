"""Faults while seats are held: the database connection dies in the middle of a hold, and
two beat processes expire the same holds at once (PostgreSQL: real commits, real locks).

Each test asserts the end state in the database and the emails sent.
"""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import OperationalError, connection
from django.db.utils import InterfaceError
from django.utils import timezone

from cms.models import AuditRecord
from courses import capacity, services
from courses.factories import UserFactory, make_event
from courses.models import Booking, BookingStatus, Registration, WaitlistEntry, WaitlistStatus

pytestmark = [
    pytest.mark.postgres,
    # Real commits: a killed connection loses its transaction, and each beat thread has its
    # own connection that must see the other's commits.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def kill_this_connection():
    """What a failover or a killed backend does to the request's connection mid-transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")


def test_a_connection_killed_mid_hold_leaves_no_seat_taken_and_no_lock(monkeypatch):
    event = make_event(capacity=1)
    standard = event.ticket_types.get()
    buyer, other = UserFactory(), UserFactory()
    # The hold has written its booking and counted the seats, under the capacity lock.
    monkeypatch.setattr(capacity, "after_availability_check", kill_this_connection)

    with pytest.raises((OperationalError, InterfaceError)):
        services.place_hold(
            event=event, purchaser=buyer, tickets={standard.pk: 1}, idempotency_key="first"
        )
    connection.close()
    monkeypatch.setattr(capacity, "after_availability_check", None)

    # Nothing of the half-made hold survived, and the one seat is still free.
    assert not Booking.objects.exists()
    assert not Registration.objects.exists()
    assert capacity.event_seats_left(event, timezone.now()) == 1
    assert not mail.outbox
    # The capacity lock died with the connection: the next buyer is not kept waiting, and the
    # first buyer's retry (same form, same key) would have found the seat gone, not a ghost.
    booking = services.place_hold(event=event, purchaser=other, tickets={standard.pk: 1})
    assert booking.status == BookingStatus.HELD
    with pytest.raises(services.SoldOut):
        services.place_hold(
            event=event, purchaser=buyer, tickets={standard.pk: 1}, idempotency_key="first"
        )
    assert Registration.objects.count() == 1


def test_two_beats_expiring_the_same_hold_release_it_once_and_offer_the_seat_once():
    event = make_event(capacity=1)
    standard = event.ticket_types.get()
    booking = services.place_hold(event=event, purchaser=UserFactory(), tickets={standard.pk: 1})
    waiting = UserFactory(email="next.in.line@example.org")
    services.join_waitlist(event, user=waiting)
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    mail.outbox.clear()

    start = threading.Barrier(2)
    released = []

    def beat():
        try:
            start.wait()
            released.append(services.expire_holds())
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert sorted(released) == [0, 1]
    assert AuditRecord.objects.filter(action="courses.booking.expired").count() == 1
    entry = WaitlistEntry.objects.get(user=waiting)
    assert entry.status == WaitlistStatus.OFFERED
    offers = [message for message in mail.outbox if message.to == [waiting.email]]
    assert len(offers) == 1, [message.subject for message in mail.outbox]
