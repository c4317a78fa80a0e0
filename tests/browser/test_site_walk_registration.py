"""A free webinar as a signed-in member meets it, at desktop and phone widths: one button on
the event page, then the confirmation with add to calendar; no ticket, attendee or summary
step and no hold countdown."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from courses.factories import make_event
from courses.models import EventFormat, Registration, RegistrationStatus, TicketType
from tests.accounts_support import log_in_browser, make_member
from tests.browser.conftest import assert_accessible

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]


def free_webinar():
    event = make_event(
        title="Feedback-Informed Treatment with Adults",
        format=EventFormat.WEBINAR,
        time_zone="America/New_York",
        capacity=500,
        sessions=[
            (
                "Live webinar",
                timezone.now().replace(microsecond=0) + timedelta(days=20),
                90,
                90,
            )
        ],
    )
    TicketType.objects.filter(event=event).update(name="Free registration", max_per_order=1)
    return event


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("width", WIDTHS)
def test_free_webinar_in_one_step(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    event = free_webinar()
    member = make_member("maria@example.org", "María José Núñez")
    log_in_browser(page, member)

    page.goto(event.url)
    box = page.get_by_role("region", name="Registration")
    expect(box).to_contain_text("You'll be registered as María José Núñez")
    expect(box.get_by_role("spinbutton")).to_have_count(0)
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    expect(box.get_by_label("License number")).to_be_hidden()
    box.get_by_label("I want continuing-education (CE) credit").check()
    box.get_by_label("License issued by").select_option("FL")
    box.get_by_label("License number").fill("SW1234")
    box.get_by_role("button", name="Register (free)").click()

    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()
    expect(page.get_by_text("Add to calendar").first).to_be_visible()
    expect(page.get_by_text("Time left")).to_have_count(0)
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    registration = Registration.objects.get(event=event)
    assert registration.status == RegistrationStatus.CONFIRMED
    assert registration.attendee == member and registration.wants_ce
    assert registration.license_number == "SW1234"

    page.goto(event.url)
    box = page.get_by_role("region", name="Registration")
    expect(box).to_contain_text("You're registered for this event.")
    expect(box.get_by_role("button", name="Register (free)")).to_have_count(0)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_one_step_with_ce_asks_for_the_license_on_the_field(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    event = free_webinar()
    member = make_member("sam@example.org", "Sam Okafor")
    log_in_browser(page, member)

    page.goto(event.url)
    box = page.get_by_role("region", name="Registration")
    box.get_by_label("I want continuing-education (CE) credit").check()
    box.get_by_label("License issued by").select_option("FL")
    box.get_by_role("button", name="Register (free)").click()

    expect(page.get_by_role("heading", name=re.compile("^Register for"))).to_be_visible()
    expect(page.get_by_label("License number")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Enter your license number to receive CE credit.")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    assert not Registration.objects.filter(event=event).exists()

    page.get_by_label("License number").fill("MH1234")
    page.get_by_role("button", name="Register (free)").click()
    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()
    assert Registration.objects.get(event=event).license_number == "MH1234"
