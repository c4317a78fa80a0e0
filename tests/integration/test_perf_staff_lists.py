"""Staff lists cost the same number of queries for 10 rows as for 200 (Wagtail 7.4 builds the
listing in the index view, where the related rows of every column are now joined)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.roles import EVENT_MANAGER
from courses import services
from courses.factories import UserFactory, make_event
from courses.models import Registration, RegistrationStatus, WaitlistEntry, WaitlistStatus

pytestmark = pytest.mark.django_db


def _listing_queries(client, path, expect):
    client.get(path)  # per-process caches (content types, permissions) warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    assert expect in response.content.decode()
    return len(captured.captured_queries)


def _seats(event, booking, first, count):
    ticket = event.ticket_types.get()
    Registration.objects.bulk_create(
        Registration(
            booking=booking,
            event=event,
            ticket_type=ticket,
            attendee_name=f"Attendee {n:03d}",
            attendee_email=f"attendee{n}@example.org",
            unit_price=0,
            status=RegistrationStatus.CONFIRMED,
        )
        for n in range(first, first + count)
    )


def test_registrations_list_queries_do_not_grow_with_rows(client, staff_signed_in):
    staff_signed_in(EVENT_MANAGER)
    event = make_event(title="Supervision Intensive", capacity=500)
    booking = services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )
    _seats(event, booking, 1, 9)
    ten = _listing_queries(client, "/admin/course_registrations/", "Attendee 009")

    _seats(event, booking, 10, 190)
    assert Registration.objects.count() == 200
    many = _listing_queries(client, "/admin/course_registrations/", "Supervision Intensive")

    assert ten == many


def test_waitlist_list_queries_do_not_grow_with_rows(client, staff_signed_in):
    staff_signed_in(EVENT_MANAGER)
    event = make_event(title="Full Workshop", capacity=1)

    def wait(first, count):
        users = [
            UserFactory.build(email=f"waiting{n}@example.org", legal_name=f"Waiting {n:03d}")
            for n in range(first, first + count)
        ]
        users = type(users[0]).objects.bulk_create(users)
        WaitlistEntry.objects.bulk_create(
            WaitlistEntry(event=event, user=user, status=WaitlistStatus.WAITING) for user in users
        )

    wait(0, 10)
    ten = _listing_queries(client, "/admin/course_waitlist/", "Full Workshop")
    wait(10, 190)
    many = _listing_queries(client, "/admin/course_waitlist/", "Full Workshop")

    assert ten == many
