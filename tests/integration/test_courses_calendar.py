"""Add to calendar: every published event offers its sessions as an .ics file, and the
confirmation page and My registrations link to it (the confirmation also per session to
Google and Outlook)."""

import pytest
from django.urls import reverse
from icalendar import Calendar

from certification.factories import make_event as make_past_event
from certification.factories import make_registration
from courses import services
from courses.factories import UserFactory, make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def conference():
    return make_event(
        title="Training of Trainers Conference",
        days=3,
        time_zone="America/Chicago",
        join_url="https://zoom.example/j/secret-123",
    )


def confirmed_booking(event, user):
    booking = services.place_hold(
        event=event, purchaser=user, tickets={event.ticket_types.get().pk: 1}
    )
    return services.confirm_registrations(booking, actor=user)


def test_anyone_downloads_the_events_sessions_as_a_calendar_file(client, conference):
    response = client.get(reverse("courses:event_calendar", args=[conference.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert 'filename="' in response["Content-Disposition"]
    calendar = Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["summary"]) for e in events] == [
        "Training of Trainers Conference: Day 1",
        "Training of Trainers Conference: Day 2",
        "Training of Trainers Conference: Day 3",
    ]
    assert events[0]["dtstart"].dt.tzinfo.key == "America/Chicago"
    # The join link is for confirmed attendees only; the public file never carries it.
    assert b"secret-123" not in response.content


def test_an_unpublished_event_has_no_calendar_file(client, conference):
    conference.unpublish()

    response = client.get(reverse("courses:event_calendar", args=[conference.pk]))

    assert response.status_code == 404


def test_the_confirmation_page_offers_the_file_and_each_sessions_links(client, conference):
    user = UserFactory()
    booking = confirmed_booking(conference, user)
    client.force_login(user)

    html = client.get(reverse("courses:booking_confirmation", args=[booking.public_id])).text

    assert reverse("courses:event_calendar", args=[conference.pk]) in html
    assert "Add to calendar" in html
    assert html.count("https://calendar.google.com/calendar/render") == 3
    assert html.count("https://outlook.live.com/calendar/") == 3


def test_my_registrations_offers_the_file_for_upcoming_confirmed_events_only(client):
    user = UserFactory()
    upcoming = make_event(title="FIT Supervision Training")
    finished = make_past_event("Past Workshop")
    confirmed_booking(upcoming, user)
    make_registration(finished, user=user)
    client.force_login(user)

    html = client.get(reverse("courses:my_registrations")).text

    assert reverse("courses:event_calendar", args=[upcoming.pk]) in html
    assert reverse("courses:event_calendar", args=[finished.pk]) not in html


def test_the_event_page_offers_the_file_and_each_sessions_links(client, conference):
    html = client.get(conference.url).text

    assert reverse("courses:event_calendar", args=[conference.pk]) in html
    assert html.count("https://calendar.google.com/calendar/render") == 3
