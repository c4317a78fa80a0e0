"""Registering for events in Chromium: a new user and a free webinar, a group conference
booking up to the payment step, and a waitlist place turned into a seat."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from courses import services
from courses.factories import UserFactory, events_index, make_event
from courses.models import (
    AddOn,
    Booking,
    BookingStatus,
    EventFormat,
    EventPage,
    Registration,
    RegistrationStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from tests.accounts_support import log_in_browser
from tests.browser.conftest import assert_accessible, last_email, links_in, local_path

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _remember_migrated_baseline(django_db_setup, django_db_blocker):
    """Make the live server's serialized rollback work whatever ran before.

    When database tests run before the first browser test, the database is set up before
    Playwright starts, and after that this thread sees a fresh connection wrapper without the
    serialized migration data, so the flush after a browser test would leave the next one
    without Wagtail's root page, locale and staff groups. While the data is still there,
    serialize it on the connection this thread now uses.
    """
    from django.db import connection
    from wagtail.models import Page

    if not hasattr(connection, "_test_serialized_contents"):
        with django_db_blocker.unblock():
            if Page.objects.exists():
                connection._test_serialized_contents = connection.creation.serialize_db_to_string()


def test_new_user_registers_for_the_free_webinar(page):
    event = make_event(
        title="Live webinar: Feedback-Informed Treatment with Scott D. Miller",
        format=EventFormat.WEBINAR,
        time_zone="America/New_York",
        starts_in=timedelta(days=3),
        session_hours=2,
        join_url="https://zoom.example.org/j/555",
        join_link_visible_minutes_before=60,
    )

    page.goto(event.url)
    expect(page.get_by_role("heading", level=1)).to_have_text(event.title)
    expect(page.locator("main")).to_contain_text("America/New_York")
    # The viewer's own time, filled in by frontend/site.js beside each session.
    expect(page.locator("[data-local-time-output]").first).to_contain_text("Your time:")
    assert_accessible(page)

    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.locator("main").get_by_role("link", name="Create an account").click()
    page.get_by_label("Legal name").fill("Aiyana Begay")
    page.get_by_label("Email").fill("aiyana@example.org")
    page.get_by_label("Password", exact=True).fill("outcome-alliance-feedback-77")
    page.get_by_label(re.compile(r"Password \(again\)|Confirm password", re.I)).fill(
        "outcome-alliance-feedback-77"
    )
    page.get_by_role("button", name="Sign up").click()
    confirm = [
        link for link in links_in(last_email(to="aiyana@example.org")) if "/confirm-email/" in link
    ][0]
    page.goto(local_path(confirm))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("navigation", name="Your account")).to_contain_text("Aiyana")

    # One free seat for oneself is one step (issue 15, item 8): no attendee or summary page.
    page.goto(event.url)
    expect(page.locator("main")).to_contain_text("You'll be registered as Aiyana Begay")
    page.get_by_role("button", name="Register (free)").click()

    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()
    registration = Registration.objects.get(attendee__email="aiyana@example.org")
    assert registration.status == RegistrationStatus.CONFIRMED
    confirmation = last_email(to="aiyana@example.org")
    assert event.title in confirmation.subject + confirmation.body
    (ics,) = [a for a in confirmation.attachments if a[0].endswith(".ics")]
    assert b"BEGIN:VEVENT" in (ics[1] if isinstance(ics[1], bytes) else ics[1].encode())
    assert b"America/New_York" in (ics[1] if isinstance(ics[1], bytes) else ics[1].encode())

    page.get_by_role("link", name="Go to My registrations").click()
    expect(page.locator("main")).to_contain_text(event.title)
    expect(page.locator("main")).to_contain_text("The join link appears here from")
    expect(page.get_by_role("link", name="Join the webinar")).to_have_count(0)
    assert_accessible(page)

    # The link shows from a set time before the start: move that time to before now.
    EventPage.objects.filter(pk=event.pk).update(join_link_visible_minutes_before=5 * 24 * 60)
    page.reload()
    expect(page.get_by_role("link", name="Join the webinar")).to_have_attribute(
        "href", "https://zoom.example.org/j/555"
    )


def test_coordinator_takes_a_conference_group_booking_to_the_payment_step(page):
    event = make_event(
        title="Training of Trainers Conference",
        format=EventFormat.CONFERENCE,
        time_zone="America/New_York",
        days=5,
        price=45000,
        add_ons=[("CE credits", 5000, True)],
    )
    ce = AddOn.objects.get(event=event)
    coordinator = UserFactory(email="coordinator@example.org", legal_name="Dana Whitfield")
    EmailAddress.objects.create(user=coordinator, email=coordinator.email, verified=True)
    log_in_browser(page, coordinator)

    make_event(title="Monthly live webinar", format=EventFormat.WEBINAR)
    page.goto(events_index().url)
    page.get_by_label("Format").select_option(label="In-person conference")
    page.get_by_role("button", name="Show events").click()
    expect(page.locator("main")).not_to_contain_text("Monthly live webinar")
    assert_accessible(page)
    page.get_by_role("link", name="Training of Trainers Conference").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Training of Trainers Conference")
    page.get_by_label(re.compile("^Standard")).fill("2")
    page.get_by_label(re.compile("^CE credits")).fill("1")
    page.get_by_role("button", name="Register").click()

    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    first = page.get_by_role("group", name=re.compile("Attendee 1 of 2"))
    second = page.get_by_role("group", name=re.compile("Attendee 2 of 2"))
    first.get_by_label("Legal name").fill("Dana Whitfield")
    first.get_by_label(re.compile("CE credits")).check()
    first.get_by_label("License issued by").select_option("FL")
    first.get_by_label("License number").fill("12")
    second.get_by_label("Legal name").fill("Kwame Mensah")
    second.get_by_label("Email address").fill("kwame@example.org")
    second.get_by_label(re.compile("CE credits")).uncheck()
    page.get_by_role("button", name="Continue to summary").click()

    # A license number that cannot be Floridian: the error names the field, nothing is lost.
    expect(page.get_by_role("alert")).to_contain_text("Please correct the following")
    expect(first.get_by_label("License number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("main")).to_contain_text("doesn't look like a Florida license number")
    expect(second.get_by_label("Legal name")).to_have_value("Kwame Mensah")
    assert_accessible(page)
    first.get_by_label("License number").fill("MH9876")
    page.get_by_role("button", name="Continue to summary").click()

    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    expect(page.locator("main")).to_contain_text("$950.00")
    page.get_by_role("link", name="Continue to payment").click()

    booking = Booking.objects.get(purchaser=coordinator)
    expect(page).to_have_url(re.compile(rf"/payments/checkout/{booking.public_id}/"))
    assert booking.status == BookingStatus.HELD
    assert [r.attendee_name for r in booking.registrations.order_by("id")] == [
        "Dana Whitfield",
        "Kwame Mensah",
    ]
    dana = booking.registrations.get(attendee_name="Dana Whitfield")
    assert (dana.license_jurisdiction, dana.license_number, dana.wants_ce) == ("FL", "MH9876", True)
    assert list(dana.add_ons.all()) == [ce]


def test_waitlisted_person_claims_an_offered_seat(page):
    event = make_event(title="FIT Supervision Training", capacity=1, time_zone="America/Chicago")
    holder = UserFactory()
    booking = services.place_hold(
        event=event, purchaser=holder, tickets={event.ticket_types.get().pk: 1}
    )
    services.confirm_registrations(booking, actor=holder)
    waiting = UserFactory(email="wen@example.org", legal_name="Wen Li")
    log_in_browser(page, waiting)

    page.goto(event.url)
    expect(page.locator("main")).to_contain_text("This event is full")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator("main")).to_contain_text("You're on the waitlist for FIT Supervision")
    assert WaitlistEntry.objects.get(user=waiting).status == WaitlistStatus.WAITING

    services.cancel_registration(booking.registrations.get(), actor=holder)
    offer = last_email(to="wen@example.org")
    (claim,) = [link for link in links_in(offer) if "/registrations/waitlist/" in link]

    page.goto(local_path(claim))
    expect(page.get_by_role("heading", name="A seat is waiting for you")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Claim the seat and continue").click()
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    page.get_by_role("button", name="Continue to summary").click()
    page.get_by_role("button", name="Confirm registration").click()

    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()
    assert Registration.objects.get(attendee=waiting).status == RegistrationStatus.CONFIRMED
    assert WaitlistEntry.objects.get(user=waiting).status == WaitlistStatus.CLAIMED
