"""What the registration pages say: the summary names the license jurisdiction in words, an
invited seat says what to type, leaving the attendee step is offered once details exist, the
header leads staff (only) to the admin and marks "My registrations", and the event page links
to its registration box."""

import html as html_lib
import re

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from courses.factories import UserFactory, make_event
from courses.models import Booking

pytestmark = pytest.mark.django_db


def _text(response):
    """The page's visible text with tags dropped and spaces collapsed."""
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _seat(index, **fields):
    base = {
        "attendee_name": "",
        "attendee_email": "",
        "profession": "",
        "license_jurisdiction": "",
        "license_number": "",
        "accessibility_needs": "",
        "dietary_needs": "",
    }
    base.update(fields)
    return {f"seat-{index}-{name}": value for name, value in base.items()}


def _hold(client, event, seats):
    ticket = event.ticket_types.get()
    client.post(
        reverse("courses:register", args=[event.pk]),
        {"idempotency_key": f"qa-{seats}", f"ticket_{ticket.pk}": seats},
    )
    return Booking.objects.get(event=event)


@pytest.fixture
def coordinator(client):
    user = UserFactory(email="coord@agency.example", legal_name="Cora Coordinator")
    client.force_login(user)
    return user


def test_summary_names_the_license_jurisdiction_in_words(client, coordinator):
    event = make_event(title="FIT Supervision Training")
    booking = _hold(client, event, 1)
    client.post(
        reverse("courses:booking_attendees", args=[booking.public_id]),
        _seat(
            1,
            attendee_name="陈伟",
            attendee_email="chen@agency.example",
            wants_ce="on",
            license_jurisdiction="OTHER_US",
            license_number="lpc-12345",
        ),
    )

    summary = _text(client.get(reverse("courses:booking_summary", args=[booking.public_id])))

    assert "Yes (Another U.S. state license LPC-12345)" in summary
    assert "OTHER_US" not in summary


def test_an_invited_seat_without_a_name_says_what_to_type(client, coordinator):
    event = make_event(title="Training of Trainers Conference")
    booking = _hold(client, event, 2)
    data = {
        **_seat(1, attendee_name="Robert Lee", attendee_email="bob@agency.example"),
        **_seat(2, invite="on", attendee_email="dana@agency.example"),
    }

    page = _text(client.post(reverse("courses:booking_attendees", args=[booking.public_id]), data))

    assert "Enter the attendee's legal name, as it should appear on the certificate" in page
    assert "This field is required." not in page


def test_leaving_the_attendee_step_without_saving_is_offered_only_once_details_exist(
    client, coordinator
):
    event = make_event(title="Training of Trainers Conference")
    booking = _hold(client, event, 2)
    url = reverse("courses:booking_attendees", args=[booking.public_id])

    assert "Back to the summary without saving changes" not in _text(client.get(url))
    assert "Skip to the summary" not in _text(client.get(url))

    client.post(
        url,
        {
            **_seat(1, attendee_name="Robert Lee", attendee_email="bob@agency.example"),
            **_seat(2, attendee_name="Dana Smith", attendee_email="dana@agency.example"),
        },
    )

    assert "Back to the summary without saving changes" in _text(client.get(url))


def test_the_header_takes_staff_to_the_admin_and_nobody_else(client):
    attendee = UserFactory(email="ana@example.org")
    client.force_login(attendee)
    assert 'href="/admin/">Admin<' not in client.get("/registrations/").content.decode()

    staff = UserFactory(email="sam@example.org", is_staff=True)
    TOTP.activate(staff, pyotp.random_base32())
    client.force_login(staff)
    assert 'href="/admin/">Admin<' in client.get("/registrations/").content.decode()


def test_the_header_marks_my_registrations_as_the_current_page(client, coordinator):
    page = client.get("/registrations/").content.decode()

    assert 'href="/registrations/" aria-current="page">My registrations<' in page
    assert 'aria-current="page">My CE<' not in page


def test_the_event_page_links_straight_to_its_registration_box(client):
    event = make_event(title="FIT Supervision Training")

    page = client.get(event.url).content.decode()

    assert 'href="#register-heading">Tickets and registration</a>' in page
    assert 'id="register-heading"' in page
