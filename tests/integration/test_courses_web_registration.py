"""The registration flow in the browser's words: choose tickets, name attendees, confirm or
go on to payment; every bad input gets a message and changes nothing."""

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cms.roles import EVENT_MANAGER
from courses.factories import UserFactory, make_event, ticket
from courses.models import (
    AddOn,
    Booking,
    BookingStatus,
    EventFormat,
    QuestionKind,
    Registration,
    RegistrationQuestion,
    RegistrationStatus,
)
from tests.accounts_support import log_in_with_second_factor

pytestmark = pytest.mark.django_db


def _text(response):
    """The page's visible text with tags dropped and spaces collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _choose(client, event, quantities, key="key-1", **extra):
    data = {"idempotency_key": key, **extra}
    data.update({f"ticket_{t.pk}": n for t, n in quantities.items()})
    return client.post(reverse("courses:register", args=[event.pk]), data)


def _attendee_data(index, **fields):
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


@pytest.fixture
def attendee(client):
    user = UserFactory(
        email="maria@example.org", legal_name="María José Núñez", profession="Counselor"
    )
    client.force_login(user)
    return user


def test_event_page_shows_schedule_in_event_zone_seats_and_json_ld(client):
    event = make_event(
        title="Feedback-Informed Treatment Webinar",
        format=EventFormat.WEBINAR,
        time_zone="America/New_York",
        capacity=40,
    )
    response = client.get(event.url)
    text = _text(response)

    assert response.status_code == 200
    assert "Feedback-Informed Treatment Webinar" in text
    assert "Live webinar" in text
    assert "America/New_York" in text
    session = event.sessions.get()
    local = timezone.localtime(session.start, event.zone)
    assert local.strftime("%-I:%M %p") == "9:00 AM"
    assert "9:00 AM" in text
    assert f'datetime="{session.start.isoformat()}"' in response.content.decode() or (
        "data-local-time" in response.content.decode()
    )
    assert "data-local-time-output" in response.content.decode()
    assert "40 seats left." in text
    assert '<script type="application/ld+json">' in response.content.decode()
    assert '"@type": "Event"' in response.content.decode()
    assert "Register" in text


def test_event_page_says_closed_or_full(client):
    closed = make_event(registration_closes_at=timezone.now() - timedelta(hours=1))
    full = make_event(capacity=1)
    buyer = UserFactory()
    from courses import services

    services.place_hold(event=full, purchaser=buyer, tickets={full.ticket_types.get().pk: 1})

    closed_text = _text(client.get(closed.url))
    # Once, with when: not "Registration closed. Registration for this event has closed."
    assert re.search(r"Registration closed on \d{1,2} \w+ \d{4}, ", closed_text)
    assert closed_text.count("closed") == 1
    client.force_login(UserFactory())
    full_text = _text(client.get(full.url))
    assert "This event is full" in full_text
    assert "Join the waitlist" in full_text


def test_anonymous_register_goes_to_login_and_back(client):
    event = make_event()
    url = reverse("courses:register", args=[event.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert f"next={url}" in response["Location"]


def test_free_webinar_registration_end_to_end(client, attendee, django_capture_on_commit_callbacks):
    event = make_event(title="Live webinar with Scott Miller", format=EventFormat.WEBINAR)
    standard = event.ticket_types.get()

    response = _choose(client, event, {standard: 1})
    booking = Booking.objects.get(purchaser=attendee)
    assert response["Location"] == reverse("courses:booking_attendees", args=[booking.public_id])

    page = client.get(response["Location"])
    text = _text(page)
    assert "Who is attending?" in text
    assert 'value="María José Núñez"' in page.content.decode()
    assert 'value="maria@example.org"' in page.content.decode()
    assert "Your seats are held until" in text

    response = client.post(
        page.request["PATH_INFO"],
        _attendee_data(
            1,
            attendee_name="María José Núñez",
            attendee_email="maria@example.org",
            profession="Counselor",
            accessibility_needs="Captions, please",
        ),
    )
    assert response["Location"] == reverse("courses:booking_summary", args=[booking.public_id])
    summary = _text(client.get(response["Location"]))
    assert "Check your registration" in summary
    assert "Free" in summary
    assert "Confirm registration" in summary

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("courses:confirm_booking", args=[booking.public_id]))
    confirmation = _text(client.get(response["Location"], follow=True))
    assert "Registration confirmed" in confirmation
    registration = Registration.objects.get(booking=booking)
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.accessibility_needs == "Captions, please"
    assert [m.to for m in mail.outbox] == [["maria@example.org"]]
    assert any(name.endswith(".ics") for name, _c, _t in mail.outbox[0].attachments)


def test_double_click_makes_one_hold(client, attendee):
    event = make_event()
    standard = event.ticket_types.get()

    first = _choose(client, event, {standard: 2}, key="same-key")
    second = _choose(client, event, {standard: 2}, key="same-key")

    assert first["Location"] == second["Location"]
    assert Booking.objects.filter(purchaser=attendee).count() == 1
    assert Registration.objects.filter(booking__purchaser=attendee).count() == 2


def test_ticket_of_another_event_is_refused(client, attendee):
    event = make_event()
    other = make_event()
    foreign = other.ticket_types.get()

    response = client.post(
        reverse("courses:register", args=[event.pk]),
        {"idempotency_key": "k", f"ticket_{foreign.pk}": 1},
    )

    assert response.status_code == 400
    assert "That ticket is not offered for this event" in _text(response)
    assert not Booking.objects.exists()


def test_quantity_above_maximum_is_refused(client, attendee):
    event = make_event()
    standard = event.ticket_types.get()

    response = _choose(client, event, {standard: 11})

    assert response.status_code == 400
    assert "You can book at most 10 “Standard” tickets in one order" in _text(response)
    assert not Booking.objects.exists()


def test_closed_registration_is_refused(client, attendee):
    event = make_event(registration_closes_at=timezone.now() - timedelta(minutes=1))
    standard = event.ticket_types.get()

    response = _choose(client, event, {standard: 1})

    assert response.status_code == 400
    assert "Registration is closed for this event." in _text(response)
    assert not Booking.objects.exists()


def test_sold_out_offers_the_waitlist(client, attendee):
    event = make_event(capacity=2)
    standard = event.ticket_types.get()

    response = _choose(client, event, {standard: 3})

    assert response.status_code == 409
    text = _text(response)
    assert "Only 2 seat(s) are left" in text
    assert "Join the waitlist" in text
    assert not Booking.objects.exists()


def test_zero_tickets_asks_to_choose(client, attendee):
    event = make_event()

    response = _choose(client, event, {event.ticket_types.get(): 0})

    assert response.status_code == 400
    assert "Choose at least one ticket." in _text(response)


def test_license_number_format_is_checked_per_jurisdiction(client, attendee):
    event = make_event(add_ons=[("CE credits", 2500, True)])
    ce = AddOn.objects.get(event=event)
    response = _choose(client, event, {event.ticket_types.get(): 1}, **{f"addon_{ce.pk}": 1})
    booking = Booking.objects.get()
    url = response["Location"]

    bad = client.post(
        url,
        {
            **_attendee_data(
                1,
                attendee_name="María José Núñez",
                attendee_email="maria@example.org",
                license_jurisdiction="FL",
                license_number="XX99",
            ),
            "seat-1-add_on_ids": [str(ce.pk)],
        },
    )
    text = _text(bad)
    assert bad.status_code == 400
    assert "This doesn't look like a Florida license number" in text
    assert "SW1234" in text
    assert "Please correct the following" in text
    assert Registration.objects.get().license_number == ""

    good = client.post(
        url,
        {
            **_attendee_data(
                1,
                attendee_name="María José Núñez",
                attendee_email="maria@example.org",
                license_jurisdiction="FL",
                license_number="mh 12345",
            ),
            "seat-1-add_on_ids": [str(ce.pk)],
        },
    )
    assert good.status_code == 302
    registration = Registration.objects.get()
    assert registration.license_number == "MH12345"
    assert registration.wants_ce
    summary = _text(client.get(reverse("courses:booking_summary", args=[booking.public_id])))
    assert "$25.00" in summary


def test_ce_without_license_number_asks_for_it(client, attendee):
    event = make_event(add_ons=[("CE credits", 0, True)])
    ce = AddOn.objects.get(event=event)
    response = _choose(client, event, {event.ticket_types.get(): 1})

    bad = client.post(
        response["Location"],
        {
            **_attendee_data(1, attendee_name="María", attendee_email="maria@example.org"),
            "seat-1-add_on_ids": [str(ce.pk)],
        },
    )

    assert "Enter your license number to receive CE credit." in _text(bad)


def test_staff_questions_are_asked_and_required(client, attendee):
    event = make_event()
    question = RegistrationQuestion.objects.create(
        event=event,
        label="Which agency do you work for?",
        kind=QuestionKind.TEXT,
        required=True,
    )
    response = _choose(client, event, {event.ticket_types.get(): 1})
    url = response["Location"]
    assert "Which agency do you work for?" in _text(client.get(url))

    missing = client.post(
        url, _attendee_data(1, attendee_name="María", attendee_email="maria@example.org")
    )
    assert "Please answer this question." in _text(missing)

    client.post(
        url,
        {
            **_attendee_data(1, attendee_name="María", attendee_email="maria@example.org"),
            f"seat-1-question_{question.pk}": "Harbor Family Services",
        },
    )
    assert Registration.objects.get().answers == {str(question.pk): "Harbor Family Services"}


def test_group_booking_names_attendees_and_invites_one(
    client, attendee, django_capture_on_commit_callbacks
):
    event = make_event()
    response = _choose(client, event, {event.ticket_types.get(): 2})
    url = response["Location"]
    page = _text(client.get(url))
    assert "Attendee 1 of 2" in page
    assert "Attendee 2 of 2" in page

    client.post(
        url,
        {
            **_attendee_data(
                1, attendee_name="María José Núñez", attendee_email="maria@example.org"
            ),
            **_attendee_data(2, attendee_name="Kwame Mensah", attendee_email="kwame@example.org"),
            "seat-2-invite": "on",
        },
    )
    booking = Booking.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("courses:confirm_booking", args=[booking.public_id]))

    kwame = Registration.objects.get(attendee_email="kwame@example.org")
    assert kwame.status == RegistrationStatus.CONFIRMED
    assert kwame.awaiting_claim
    invitation = next(m for m in mail.outbox if m.to == ["kwame@example.org"])
    claim_path = reverse("courses:claim_seat", args=[kwame.invitation_token])
    assert claim_path in invitation.body

    colleague = UserFactory(email="kwame@example.org", legal_name="Kwame Mensah")
    client.force_login(colleague)
    assert "Claim your seat" in _text(client.get(claim_path))
    response = client.post(claim_path)
    assert response["Location"] == reverse("courses:my_registrations")
    kwame.refresh_from_db()
    assert kwame.attendee == colleague
    assert event.title in _text(client.get(reverse("courses:my_registrations")))


def test_paid_booking_links_to_payment(client, attendee, settings):
    event = make_event(price=45000)
    response = _choose(client, event, {event.ticket_types.get(): 1})
    booking = Booking.objects.get()
    client.post(
        response["Location"],
        _attendee_data(1, attendee_name="María", attendee_email="maria@example.org"),
    )

    settings.COURSES_CHECKOUT_URL_NAME = "courses:booking_summary"  # any resolvable name
    summary = client.get(reverse("courses:booking_summary", args=[booking.public_id]))
    text = _text(summary)
    assert "$450.00" in text
    assert "Continue to payment" in text
    assert "Confirm registration" not in text

    settings.COURSES_CHECKOUT_URL_NAME = "nowhere:checkout"
    text = _text(client.get(reverse("courses:booking_summary", args=[booking.public_id])))
    assert "Online payment isn't available" in text


def test_paid_booking_cannot_be_confirmed_as_free(client, attendee):
    event = make_event(price=45000)
    _choose(client, event, {event.ticket_types.get(): 1})
    booking = Booking.objects.get()

    response = client.post(reverse("courses:confirm_booking", args=[booking.public_id]))

    assert "please continue to payment" in _text(client.get(response["Location"], follow=True))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.HELD


def test_expired_hold_tells_the_attendee_and_offers_to_start_again(client, attendee):
    event = make_event()
    _choose(client, event, {event.ticket_types.get(): 1})
    booking = Booking.objects.get()
    Booking.objects.filter(pk=booking.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    text = _text(client.get(reverse("courses:booking_summary", args=[booking.public_id])))

    assert "Your reservation expired" in text
    assert "Start again" in text
    assert "Confirm registration" not in text
    attendees = client.get(reverse("courses:booking_attendees", args=[booking.public_id]))
    assert attendees["Location"] == reverse("courses:booking_summary", args=[booking.public_id])


def test_only_the_purchaser_or_event_staff_see_a_booking(client, attendee):
    event = make_event()
    _choose(client, event, {event.ticket_types.get(): 1})
    booking = Booking.objects.get()
    urls = [
        reverse(name, args=[booking.public_id])
        for name in ("courses:booking_summary", "courses:booking_attendees")
    ]

    client.force_login(UserFactory())
    for url in urls:
        assert client.get(url).status_code == 404
    assert (
        client.post(reverse("courses:confirm_booking", args=[booking.public_id])).status_code == 404
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.HELD

    manager = UserFactory()
    from django.contrib.auth.models import Group

    manager.groups.add(Group.objects.get(name=EVENT_MANAGER))
    log_in_with_second_factor(client, manager)
    assert "Check your registration" in _text(client.get(urls[0]))


def test_second_ticket_type_with_access_code(client, attendee):
    event = make_event(price=45000)
    student = ticket(event, name="Student", price=20000, access_code="STUDENT25")

    wrong = _choose(client, event, {student: 1}, access_code="nope")
    assert "needs an access code" in _text(wrong)
    assert not Booking.objects.exists()

    right = _choose(client, event, {student: 1}, key="k2", access_code="student25")
    assert right.status_code == 302
    assert Registration.objects.get().unit_price == 20000


def test_editor_preview_of_an_unsaved_event_renders(rf):
    from courses.factories import EventPageFactory, events_index
    from courses.models import EventSession

    index = events_index()
    event = EventPageFactory.build(title="Draft workshop", slug="draft-workshop")
    event.sessions = [
        EventSession(
            title="Day 1",
            start=timezone.now() + timedelta(days=5),
            end=timezone.now() + timedelta(days=5, hours=3),
        )
    ]
    event.path = index.path + "9999"
    event.depth = index.depth + 1
    event.url_path = index.url_path + "draft-workshop/"

    response = event.make_preview_request()

    assert response.status_code == 200
    text = _text(response)
    assert "Draft workshop" in text
    assert "Registration opens here once the event is published." in text


def test_tampered_price_and_bad_quantities_change_nothing(client, attendee):
    event = make_event(price=45000, add_ons=[("Printed manual", 2500, False)])
    standard = event.ticket_types.get()
    manual = AddOn.objects.get(event=event)

    # A price field someone adds to the form is ignored: prices come from the database.
    _choose(client, event, {standard: 1}, key="a", price="0", unit_price="0")
    assert Registration.objects.get().unit_price == 45000

    not_a_number = _choose(client, event, {standard: "two"}, key="b")
    assert "Enter a whole number of tickets." in _text(not_a_number)
    too_many_add_ons = _choose(client, event, {standard: 1}, key="c", **{f"addon_{manual.pk}": 3})
    assert "“Printed manual” can be added at most once per attendee (1 in this order)." in _text(
        too_many_add_ons
    )
    negative = _choose(client, event, {standard: -1}, key="d")
    assert "Enter 0 or more." in _text(negative)
    assert Booking.objects.count() == 1
