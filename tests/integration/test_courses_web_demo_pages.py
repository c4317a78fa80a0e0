"""The demo site's events (from the newsletter) render for visitors and registrants."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from courses.models import EventIndexPage, EventPage, Registration, RegistrationStatus

pytestmark = pytest.mark.django_db


def test_demo_events_render_with_their_registration_state(client):
    call_command("load_demo", stdout=io.StringIO())
    events = list(EventPage.objects.live())
    assert events, "load_demo adds events"

    index = client.get(EventIndexPage.objects.get().url)
    assert index.status_code == 200
    # The newsletter names cities, not venues: the listing shows the city.
    assert "Sarasota, Florida, USA" in index.content.decode()
    assert "Venue to be announced" not in index.content.decode()
    past = client.get(EventIndexPage.objects.get().url, {"when": "past"})
    assert past.status_code == 200

    for event in events:
        response = client.get(event.url)
        assert response.status_code == 200, event.title
        text = response.content.decode()
        assert event.title in text or event.title.replace("'", "&#x27;") in text
        assert '<script type="application/ld+json">' in text
        upcoming = event in EventIndexPage.objects.get().upcoming_events()
        if upcoming:
            assert event.title.split(":")[0] in index.content.decode().replace("&#x27;", "'")

    attendee = (
        Registration.objects.filter(status=RegistrationStatus.CONFIRMED, attendee__isnull=False)
        .select_related("attendee")
        .first()
    )
    assert attendee is not None, "the demo's past event has registrations"
    client.force_login(attendee.attendee)
    mine = client.get(reverse("courses:my_registrations"))
    assert mine.status_code == 200
    assert attendee.event.title in mine.content.decode().replace("&#x27;", "'")
