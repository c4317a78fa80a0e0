"""Many people rush for few seats at once: holds never exceed capacity (PostgreSQL).

First the proof that the test can catch a race: with the capacity lock switched off and every
thread held between counting and writing, the event oversells. Then the same rush with the
lock on sells exactly the seats there are.
"""

import threading
import time

import pytest
from django.db import connection

from courses import capacity, services
from courses.factories import UserFactory, make_event
from courses.models import Booking, Registration

pytestmark = [
    pytest.mark.postgres,
    # Real commits: each thread has its own connection and must see the others' holds.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ATTEMPTS = 24
SEATS = 5


def _rush(event, tickets, buyers, *, key=None):
    """Start every attempt at the same moment; return each attempt's outcome."""
    start = threading.Barrier(len(buyers))
    outcomes = []

    def attempt(buyer):
        try:
            start.wait()
            services.place_hold(
                event=event, purchaser=buyer, tickets=tickets, idempotency_key=key or ""
            )
            outcomes.append("held")
        except services.SoldOut:
            outcomes.append("sold out")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_without_the_lock_the_same_rush_oversells(monkeypatch):
    event = make_event(capacity=SEATS)
    buyers = [UserFactory() for _ in range(ATTEMPTS)]
    # Every thread reads the count before any writes: the race the lock exists to prevent.
    between = threading.Barrier(ATTEMPTS)
    monkeypatch.setattr(capacity, "locking_enabled", False)
    monkeypatch.setattr(capacity, "after_availability_check", between.wait)

    outcomes = _rush(event, {event.ticket_types.get().pk: 1}, buyers)

    oversold = Registration.objects.filter(event=event).count() - SEATS
    assert outcomes.count("held") == ATTEMPTS
    assert oversold > 0


def test_with_the_lock_exactly_the_seats_are_held(monkeypatch):
    event = make_event(capacity=SEATS)
    buyers = [UserFactory() for _ in range(ATTEMPTS)]
    # Widen the window between counting and writing; with the lock nobody can use it.
    monkeypatch.setattr(capacity, "after_availability_check", lambda: time.sleep(0.01))

    outcomes = _rush(event, {event.ticket_types.get().pk: 1}, buyers)

    assert outcomes.count("held") == SEATS
    assert outcomes.count("sold out") == ATTEMPTS - SEATS
    assert Registration.objects.filter(event=event).count() == SEATS
    assert Booking.objects.filter(event=event).count() == SEATS


def test_ticket_quota_holds_under_the_rush_too(monkeypatch):
    event = make_event(capacity=50, ticket_capacity=3)
    buyers = [UserFactory() for _ in range(12)]
    monkeypatch.setattr(capacity, "after_availability_check", lambda: time.sleep(0.01))

    outcomes = _rush(event, {event.ticket_types.get().pk: 1}, buyers)

    assert outcomes.count("held") == 3
    assert Registration.objects.filter(event=event).count() == 3


def test_a_burst_of_double_clicks_makes_one_hold():
    event = make_event(capacity=SEATS)
    buyer = UserFactory()

    outcomes = _rush(event, {event.ticket_types.get().pk: 2}, [buyer] * 8, key="form-123")

    assert outcomes == ["held"] * 8
    assert Booking.objects.filter(purchaser=buyer).count() == 1
    assert Registration.objects.count() == 2
