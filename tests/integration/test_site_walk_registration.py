"""Issue 15, items 8, 19 and 11 as the person meets them: a free webinar in one step, the
event's JSON-LD as a search engine reads it, and one date style without stray separators."""

import html as html_lib
import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site

from cms.models import SiteSettings
from courses.factories import make_event, register_with_ce, ticket
from courses.models import (
    Booking,
    BookingStatus,
    EventFormat,
    QuestionKind,
    Registration,
    RegistrationQuestion,
    RegistrationStatus,
    TicketType,
)
from tests.accounts_support import make_member

pytestmark = pytest.mark.django_db


def _text(response):
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _json_ld(response):
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>', response.content.decode(), re.S
    )
    assert len(blocks) == 1
    return json.loads(blocks[0])


def _webinar(**fields):
    event = make_event(
        title="Feedback-Informed Treatment with Adults",
        format=EventFormat.WEBINAR,
        time_zone="America/New_York",
        capacity=fields.pop("capacity", 500),
        sessions=[
            (
                "Live webinar",
                timezone.now().replace(microsecond=0) + timedelta(days=20),
                90,
                90,
            )
        ],
        **fields,
    )
    TicketType.objects.filter(event=event).update(name="Free registration", max_per_order=1)
    return event


def _one_step(client, event, key="one-step-1", **extra):
    return client.post(
        reverse("courses:register", args=[event.pk]),
        {"one_step": "1", "idempotency_key": key, **extra},
    )


@pytest.fixture
def signed_in(client):
    user = make_member("maria@example.org", "María José Núñez", profession="Counselor")
    client.force_login(user)
    return user


# -- item 8: a free webinar in one step ---------------------------------------------------


def test_free_webinar_registers_in_one_post_and_lands_on_the_confirmation(client, signed_in):
    event = _webinar()

    response = client.get(event.url)
    page = _text(response)
    assert "Register (free)" in page
    assert "You'll be registered as María José Núñez" in page
    assert 'name="ticket_' not in response.content.decode(), "no ticket step for one free seat"

    response = _one_step(
        client, event, wants_ce="on", license_jurisdiction="FL", license_number="sw 1234"
    )

    booking = Booking.objects.get(event=event)
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:booking_confirmation", args=[booking.public_id])
    confirmation = _text(client.get(response["Location"]))
    assert "Registration confirmed" in confirmation
    assert "Add to calendar" in confirmation
    assert "Time left" not in confirmation
    registration = Registration.objects.get(event=event)
    assert booking.status == BookingStatus.CONFIRMED
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.attendee == signed_in
    assert registration.attendee_name == "María José Núñez"
    assert registration.wants_ce is True
    assert (registration.license_jurisdiction, registration.license_number) == ("FL", "SW1234")


def test_asking_for_ce_in_one_step_needs_the_license_as_the_attendee_step_does(client, signed_in):
    event = _webinar()

    response = _one_step(client, event, wants_ce="on", license_jurisdiction="FL")

    text = _text(response)
    assert response.status_code == 400
    assert "Enter your license number to receive CE credit." in text
    assert "Register (free)" in text
    assert not Registration.objects.filter(event=event).exists()
    fixed = _one_step(
        client, event, wants_ce="on", license_jurisdiction="FL", license_number="MH5678"
    )
    assert fixed.status_code == 302
    assert Registration.objects.get(event=event).license_number == "MH5678"


def test_one_step_without_ce_records_no_ce_request(client, signed_in):
    event = _webinar()

    _one_step(client, event)

    registration = Registration.objects.get(event=event)
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.wants_ce is False and registration.license_number == ""


def test_a_double_click_makes_one_registration(client, signed_in):
    event = _webinar()

    first = _one_step(client, event, key="same-key")
    second = _one_step(client, event, key="same-key")

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Registration.objects.filter(event=event).count() == 1
    assert Booking.objects.filter(event=event).count() == 1


def test_registering_again_says_already_registered_with_the_way_to_the_seat(client, signed_in):
    event = _webinar()
    _one_step(client, event, key="first")

    again = _one_step(client, event, key="second-tab")

    text = _text(again)
    assert again.status_code == 409
    assert "You're already registered for this event" in text
    assert f'href="{reverse("courses:my_registrations")}"' in again.content.decode()
    assert Registration.objects.filter(event=event).count() == 1
    page = _text(client.get(event.url))
    assert "You're registered for this event" in page
    assert "Register (free)" not in page


def test_a_full_webinar_offers_the_waitlist_not_one_step(client, signed_in):
    event = _webinar(capacity=1)
    register_with_ce(event, make_member("other@example.org", "Other Person"))

    page = _text(client.get(event.url))
    assert "Register (free)" not in page
    assert "Join the waitlist" in page

    response = _one_step(client, event)
    assert response.status_code == 409
    assert "Join the waitlist" in _text(response)
    assert not Registration.objects.filter(event=event, attendee=signed_in).exists()


def test_a_required_question_published_later_ends_one_step_at_once(client, signed_in):
    """Whether registering asks a required question is kept with the page's shared data (under
    the content generation): the publish that adds the question shows at once."""
    event = _webinar()
    assert "Register (free)" in _text(client.get(event.url))

    event.questions.add(
        RegistrationQuestion(label="Your agency", kind=QuestionKind.TEXT, required=True)
    )
    event.save_revision().publish()

    response = client.get(event.url)
    assert "Register (free)" not in _text(response)
    assert 'name="ticket_' in response.content.decode()


@pytest.mark.parametrize(
    "variant",
    ["paid", "approval", "question", "add_on", "two_tickets"],
)
def test_bookings_that_need_choices_keep_the_full_steps(client, signed_in, variant):
    event = _webinar(
        price=4500 if variant == "paid" else 0,
        add_ons=[("Printed workbook", 0, False)] if variant == "add_on" else (),
    )
    if variant == "approval":
        TicketType.objects.filter(event=event).update(requires_approval=True)
    if variant == "question":
        RegistrationQuestion.objects.create(
            event=event, label="Your agency", kind=QuestionKind.TEXT, required=True
        )
    if variant == "two_tickets":
        ticket(event, name="Student")

    response = client.get(event.url)
    assert "Register (free)" not in _text(response)
    assert 'name="ticket_' in response.content.decode()

    response = _one_step(client, event)
    assert response.status_code == 302
    assert response["Location"] == reverse("courses:register", args=[event.pk])
    assert "Please choose your ticket below" in _text(client.get(response["Location"]))
    assert not Registration.objects.filter(event=event).exists()


def test_anonymous_visitors_choose_tickets_then_sign_in(client):
    event = _webinar()

    page = _text(client.get(event.url))

    assert "Register (free)" not in page
    assert "You'll be asked to log in or create an account first." in page
    response = client.get(reverse("courses:register", args=[event.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_after_signing_in_the_register_page_offers_one_step_and_the_full_form(client, signed_in):
    event = TicketType.objects.filter(pk=_webinar().ticket_types.get().pk)
    event.update(max_per_order=5)
    event = event.get().event

    page = _text(client.get(reverse("courses:register", args=[event.pk])))
    assert "Register (free)" in page
    assert "Registering colleagues too? Choose the number of seats" in page
    full = client.get(reverse("courses:register", args=[event.pk]) + "?full=1")
    assert "Register (free)" not in _text(full)
    assert 'name="ticket_' in full.content.decode()


# -- item 19: the event's JSON-LD ------------------------------------------------------------


def test_json_ld_has_image_postal_address_and_valid_from(client):
    from wagtail_factories import ImageFactory

    site_settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    site_settings.logo = ImageFactory(title="Logo")
    site_settings.save()
    event = make_event(
        price=98550,
        venue_name="Hyatt Regency Sarasota",
        venue_address="Hyatt Regency Sarasota\n1000 Boulevard of the Arts\nSarasota, FL 34236\nUSA",
    )
    starts = timezone.now().replace(microsecond=0) + timedelta(days=3)
    ticket(event, name="Early access", price=50000, sale_starts_at=starts)

    data = _json_ld(client.get(event.url))

    assert data["image"][0].startswith("http") and "/images/" in data["image"][0]
    assert data["location"]["name"] == "Hyatt Regency Sarasota"
    assert data["location"]["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "1000 Boulevard of the Arts",
        "addressLocality": "Sarasota",
        "addressRegion": "FL",
        "postalCode": "34236",
        "addressCountry": "US",
    }
    offers = {offer["name"]: offer for offer in data["offers"]}
    published = event.local(event.first_published_at).isoformat()
    assert offers["Standard"]["validFrom"] == published
    assert offers["Early access"]["validFrom"] == event.local(starts).isoformat()
    assert offers["Standard"]["availability"] == "https://schema.org/InStock"


def test_json_ld_without_logo_or_recognised_address_claims_nothing_it_cannot(client):
    event = make_event(venue_name="The Old Mill", venue_address="Behind the church")

    data = _json_ld(client.get(event.url))

    assert "image" not in data
    assert data["location"]["address"] == "Behind the church"


def test_a_past_events_offers_make_no_availability_claim(client):
    event = make_event(starts_in=timedelta(days=-10))

    data = _json_ld(client.get(event.url))

    assert data["offers"], "the price stays on record"
    assert all("availability" not in offer for offer in data["offers"])
    assert "InStock" not in json.dumps(data)


# -- item 11: one date style per context, no stray separators, the rating hint first ---------


def test_event_dates_read_as_one_range_in_the_long_style(client):
    from cms.dates import date_range

    event = make_event(days=5, starts_in=timedelta(days=40), time_zone="America/New_York")
    first = event.local(event.starts_at).date()
    last = event.local(event.ends_at).date()
    expected = date_range(first, last)
    assert re.fullmatch(r"\d{1,2}(–| \w+ – )\d{1,2} \w+ \d{4}|\d{1,2} \w+ \d{4} – .+", expected)

    page = _text(client.get(event.url))
    listing = _text(client.get(event.get_parent().url))

    assert expected in page
    assert expected in listing
    us_style = first.strftime("%B ") + str(first.day)
    assert us_style not in page and us_style not in listing


def test_no_stray_separators_on_the_event_pages(client, signed_in):
    online = _webinar()
    in_person = make_event(venue_name="", venue_address="Sarasota, Florida, USA")

    for event in (online, in_person):
        for response in (
            client.get(event.url),
            client.get(reverse("courses:register", args=[event.pk]) + "?full=1"),
            client.get(event.get_parent().url),
        ):
            text = _text(response)
            assert not re.search(r"·\s*(·|,|$)|(^|[:·])\s*,", text), text
            assert ", ," not in text and "Where: ," not in text
    assert "Sarasota, Florida, USA" in _text(client.get(in_person.url))


def test_the_rating_hint_comes_before_the_options(client):
    from certification.factories import make_event as make_ce_event
    from certification.factories import make_registration
    from certification.models import EvaluationQuestion
    from certification.models import QuestionKind as EvaluationKind

    event = make_ce_event("Measuring What Matters")
    user = make_member("eval@example.org", "Eva Luation")
    registration = make_registration(event, name="Eva Luation", user=user)
    EvaluationQuestion.objects.create(
        event=event, kind=EvaluationKind.RATING, prompt="Overall quality"
    )
    client.force_login(user)

    html = client.get(reverse("certification:evaluation", args=[registration.public_id]))
    html = html.content.decode()

    legend = html.index("Overall quality")
    hint = html.index("1 = poor, 5 = excellent")
    first_option = html.index('type="radio"')
    assert legend < hint < first_option


def test_a_choice_of_several_seats_brought_back_after_login_keeps_the_full_form(client, signed_in):
    event = _webinar()
    standard = TicketType.objects.get(event=event)
    TicketType.objects.filter(pk=standard.pk).update(max_per_order=5)
    register = reverse("courses:register", args=[event.pk])

    one = client.get(register, {f"ticket_{standard.pk}": "1"})
    three = client.get(register, {f"ticket_{standard.pk}": "3"})

    assert "Register (free)" in _text(one)
    assert "Register (free)" not in _text(three)
    assert re.search(rf'name="ticket_{standard.pk}"[^>]*value="3"', three.content.decode())
