"""Event and ticket rules: windows, early-bird prices, the schema.org description."""

from datetime import timedelta

import pytest
from django.utils import timezone

from courses.factories import make_event, ticket
from courses.models import TicketType

pytestmark = pytest.mark.django_db


def test_schedule_sets_the_event_dates_and_schema_org_uses_the_local_zone():
    event = make_event(days=3, price=89500, capacity=30, time_zone="America/Chicago")
    ticket(event, name="Student", price=1000, access_code="SECRET")

    data = event.schema_org()

    assert event.starts_at == min(s.start for s in event.sessions.all())
    assert event.ends_at == max(s.end for s in event.sessions.all())
    assert data["@type"] == "Event" and data["name"] == event.title
    assert data["startDate"].endswith(("-06:00", "-05:00"))
    assert data["startDate"][11:16] == "09:00"
    assert data["location"] == {
        "@type": "Place",
        "name": "Conference Center",
        "address": {
            "@type": "PostalAddress",
            "streetAddress": "100 Main Street",
            "addressLocality": "Chicago",
            "addressRegion": "IL",
            "addressCountry": "US",
        },
    }
    assert [o["price"] for o in data["offers"]] == ["895.00"], "coded tickets stay private"
    assert data["offers"][0]["availability"] == "https://schema.org/InStock"


def test_webinar_schema_is_an_online_event():
    event = make_event(format="webinar")
    data = event.schema_org()
    assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert data["location"]["@type"] == "VirtualLocation"


def test_registration_window_and_cancellation_deadline():
    event = make_event(starts_in=timedelta(days=10))
    now = timezone.now()
    assert event.registration_is_open(now)
    assert not event.registration_is_open(event.starts_at)
    event.registration_opens_at = now + timedelta(days=1)
    assert not event.registration_is_open(now)
    assert event.cancellation_deadline == event.starts_at - timedelta(hours=72)
    assert event.join_link_visible_from == event.starts_at - timedelta(minutes=60)


def test_ticket_price_and_sale_window():
    now = timezone.now()
    tt = TicketType(
        price=50000,
        early_bird_price=40000,
        early_bird_until=now + timedelta(days=1),
        sale_ends_at=now + timedelta(days=5),
    )
    assert tt.current_price(now) == 40000
    assert tt.current_price(now + timedelta(days=2)) == 50000
    assert tt.on_sale(now) and not tt.on_sale(now + timedelta(days=6))
