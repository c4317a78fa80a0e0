"""The registration rush, in what a buyer sees and what a request costs the database.

A full event answers with a short 409 page that says so and offers the waitlist, made from the
seat count the hold attempt already did; a hold and a sold-out answer each cost a fixed,
small number of queries (counted, never timed: the timing lives in `make bench`, rush).
"""

import html as html_lib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import services
from courses.factories import UserFactory, make_event
from courses.models import Booking, Registration

pytestmark = pytest.mark.django_db

# Session, user, the event read with its seat count, the key lookup, its ticket types and
# add-ons (one query), the booking and its audit record, the count under the capacity lock, the
# seat. Where the database has row locks (PostgreSQL) the lock is taken in the same round trip
# as that count, and sets the lock timeout in the locking statement. Savepoints not counted
# (the test's transaction makes them).
HOLD_QUERIES = 7
# Session, user, and the event read with its seat count: nothing more once it says full.
SOLD_OUT_QUERIES = 3


def _statements(captured):
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def _text(response):
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _attempt(client, event, key, ticket=None):
    ticket = ticket or event.ticket_types.get()
    return client.post(
        reverse("courses:register", args=[event.pk]),
        {"idempotency_key": key, f"ticket_{ticket.pk}": 1},
    )


def test_a_full_event_answers_with_a_short_sold_out_page_offering_the_waitlist(client):
    event = make_event(title="Supervision Intensive", capacity=1)
    services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )
    client.force_login(UserFactory())

    response = _attempt(client, event, "late-1")

    assert response.status_code == 409
    text = _text(response)
    assert "Supervision Intensive is sold out" in text
    assert "This event is sold out." in text
    assert "nothing was booked" in text
    assert "Join the waitlist" in text
    html = response.content.decode()
    assert reverse("courses:join_waitlist", args=[event.pk]) in html
    assert '<html lang="' in html and "<h1>" in html and 'role="alert"' in html
    # The short page, not the register page with its ticket form.
    assert "ticket_" not in html
    assert len(response.content) < 3000
    assert Booking.objects.count() == 1


def test_a_request_for_more_seats_than_are_left_still_gets_the_form(client):
    event = make_event(capacity=2)
    client.force_login(UserFactory())
    ticket = event.ticket_types.get()

    response = client.post(
        reverse("courses:register", args=[event.pk]),
        {"idempotency_key": "k", f"ticket_{ticket.pk}": 3},
    )

    assert response.status_code == 409
    text = _text(response)
    assert "Only 2 seat(s) are left" in text
    assert f'name="ticket_{ticket.pk}"' in response.content.decode()


def test_a_double_click_after_the_last_seat_returns_the_first_booking(client):
    event = make_event(capacity=1)
    client.force_login(UserFactory())

    first = _attempt(client, event, "same-key")
    second = _attempt(client, event, "same-key")

    booking = Booking.objects.get()
    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert str(booking.public_id) in second["Location"]
    assert Registration.objects.count() == 1


def test_a_hold_costs_a_fixed_number_of_queries(client):
    event = make_event(capacity=50)
    ticket = event.ticket_types.get()
    client.force_login(UserFactory())
    _attempt(client, event, "warm-up", ticket)  # per-process caches (site root, content types)
    client.force_login(UserFactory())

    with CaptureQueriesContext(connection) as captured:
        response = _attempt(client, event, "hold-1", ticket)

    assert response.status_code == 302
    assert Registration.objects.count() == 2
    assert len(_statements(captured)) == HOLD_QUERIES, _statements(captured)


@pytest.mark.postgres
def test_on_postgresql_the_capacity_lock_and_its_count_are_one_round_trip(client):
    event = make_event(capacity=50)
    ticket = event.ticket_types.get()
    client.force_login(UserFactory())
    _attempt(client, event, "warm-up", ticket)
    client.force_login(UserFactory())

    with CaptureQueriesContext(connection) as captured:
        response = _attempt(client, event, "hold-pg", ticket)

    assert response.status_code == 302
    sql = _statements(captured)
    assert len(sql) == HOLD_QUERIES, sql
    locks = [statement for statement in sql if "FOR NO KEY UPDATE" in statement.upper()]
    assert len(locks) == 1, sql
    # The lock timeout rides in the locking statement, not a round trip of its own.
    assert "set_config('lock_timeout'" in locks[0]
    assert sum("set_config" in statement for statement in sql) == 1
    # The count under the lock is a second statement sent with it: one round trip.
    lock_statement, count_statement = locks[0].split("FOR NO KEY UPDATE", 1)
    assert "COUNT(*)" not in lock_statement.upper()
    assert "COUNT(*)" in count_statement.upper()
    assert sum("COUNT(*)" in statement.upper() for statement in sql) == 2
    # The event row alone: no join to the page table for its tree order.
    assert "wagtailcore_page" not in locks[0]


def test_sold_out_costs_no_second_count_and_no_key_lookup(client):
    event = make_event(capacity=1)
    ticket = event.ticket_types.get()
    services.place_hold(event=event, purchaser=UserFactory(), tickets={ticket.pk: 1})
    client.force_login(UserFactory())
    _attempt(client, event, "warm-up", ticket)

    with CaptureQueriesContext(connection) as captured:
        response = _attempt(client, event, "late-2", ticket)

    assert response.status_code == 409
    sql = _statements(captured)
    assert len(sql) == SOLD_OUT_QUERIES, sql
    assert sum("COUNT(*)" in statement.upper() for statement in sql) == 1
    assert not any(statement.upper().startswith("INSERT") for statement in sql)
