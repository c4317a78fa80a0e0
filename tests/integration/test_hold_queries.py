"""A hold attempt's first read: the event, its seat count, the key's booking and the ticket
types and add-ons on offer come back in one query, straight from the rows.

Nothing of the offer is cached between requests, so what staff changed a moment ago (a price,
an access code) is what the next hold meets; and the statements of one hold stay counted, so
the hot path cannot silently grow (the timing lives in `make bench`, rush).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses import queries
from courses.factories import UserFactory, make_event
from courses.models import AddOn, Registration, RegistrationAddOn, TicketType

pytestmark = pytest.mark.django_db

# As tests/integration/test_perf_rush.py counts a plain hold (7), plus the add-on's line.
HOLD_WITH_ADD_ON_QUERIES = 8


def _statements(captured):
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def _fields(obj):
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _hold(client, event, key, **choice):
    ticket = choice.pop("ticket", None) or event.ticket_types.get()
    return client.post(
        reverse("courses:register", args=[event.pk]),
        {"idempotency_key": key, f"ticket_{ticket.pk}": 1, **choice},
    )


def test_the_offer_read_with_the_event_is_what_the_rows_hold():
    event = make_event(capacity=40, add_ons=[("Printed manual", 2500, False), ("CE", 0, True)])
    now = timezone.now().replace(microsecond=123456)
    TicketType.objects.create(
        event=event,
        name="Student “rate”, with | and , in it",
        description="Bring your card",
        price=30000,
        early_bird_price=25000,
        early_bird_until=now + timedelta(days=3),
        sale_starts_at=now - timedelta(days=1),
        sale_ends_at=now + timedelta(days=20),
        capacity=12,
        requires_approval=True,
        access_code="STUDENT",
        members_only=False,
        member_price=20000,
        min_per_order=2,
        max_per_order=4,
    )
    buyer = UserFactory()

    loaded = queries.event_for_hold(event.pk, purchaser=buyer, idempotency_key="k-1")
    ticket_types, add_ons = queries.offered_on_load(loaded)

    assert [_fields(t) for t in ticket_types] == [_fields(t) for t in event.ticket_types.all()]
    assert [_fields(a) for a in add_ons] == [_fields(a) for a in event.add_ons.all()]
    student = next(t for t in ticket_types if t.access_code)
    assert student.early_bird_until == now + timedelta(days=3)
    assert student.current_price(now) == 25000
    assert student.price_for(member=True, now=now) == 20000
    assert loaded.seats_counted.taken == 0
    assert loaded.seats_counted.booking_public_id is None


def test_an_event_not_published_is_not_found():
    event = make_event()
    event.unpublish()

    with pytest.raises(Http404):
        queries.event_for_hold(event.pk, purchaser=UserFactory(), idempotency_key="k")


def test_a_price_changed_a_moment_ago_is_the_price_held(client):
    event = make_event(price=45000, capacity=10)
    ticket = event.ticket_types.get()
    client.force_login(UserFactory())
    assert _hold(client, event, "before").status_code == 302

    TicketType.objects.filter(pk=ticket.pk).update(price=39500)
    client.force_login(UserFactory())
    response = _hold(client, event, "after")

    assert response.status_code == 302
    prices = list(Registration.objects.order_by("id").values_list("unit_price", flat=True))
    assert prices == [45000, 39500]


def test_an_access_code_set_a_moment_ago_is_asked_for(client):
    event = make_event(price=10000, capacity=10)
    client.force_login(UserFactory())
    TicketType.objects.filter(event=event).update(access_code="SPRING")

    refused = _hold(client, event, "no-code")
    accepted = _hold(client, event, "with-code", access_code="spring")

    assert refused.status_code == 400
    assert "needs an access code" in refused.content.decode()
    assert accepted.status_code == 302
    assert Registration.objects.get().booking.access_code_used == "spring"


def test_a_hold_with_an_add_on_reads_the_offer_in_the_events_query(client):
    event = make_event(capacity=50, add_ons=[("Printed manual", 2500, False)])
    add_on = AddOn.objects.get(event=event)
    ticket = event.ticket_types.get()
    client.force_login(UserFactory())
    _hold(client, event, "warm-up", ticket=ticket)  # per-process caches (site root, types)
    client.force_login(UserFactory())

    with CaptureQueriesContext(connection) as captured:
        response = _hold(client, event, "with-manual", ticket=ticket, **{f"addon_{add_on.pk}": 1})

    assert response.status_code == 302
    line = RegistrationAddOn.objects.get()
    assert (line.add_on_id, line.unit_price) == (add_on.pk, 2500)
    sql = _statements(captured)
    assert len(sql) == HOLD_WITH_ADD_ON_QUERIES, sql
    # Ticket types and add-ons ride in the event's query: no query of their own.
    assert not any(statement.startswith('SELECT "courses_tickettype"') for statement in sql)
    assert not any(statement.startswith('SELECT "courses_addon"') for statement in sql)
