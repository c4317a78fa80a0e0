"""Money and commitments as a buyer meets them, at desktop and phone widths: the refund
policy before paying, an order summary whose total fits a phone, and a cancel page that
states the exact refund before anything happens."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from courses.factories import UserFactory, make_event
from courses.models import EventFormat
from payments import services
from payments.models import EventPaymentSettings, Order, Refund
from tests.accounts_support import log_in_browser
from tests.browser.conftest import assert_accessible
from tests.fakestripe.helpers import hold_seats, running_fake_stripe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]


@pytest.fixture
def fake_stripe(settings, live_server):
    yield from running_fake_stripe(
        settings, webhook_url=live_server.url + "/payments/stripe/webhook/"
    )


def buyer():
    user = UserFactory(email="tess@example.org", legal_name="Tess Therapist")
    EmailAddress.objects.create(user=user, email=user.email, verified=True)
    return user


def conference(starts_in):
    event = make_event(
        title="Training of Trainers Conference",
        format=EventFormat.CONFERENCE,
        price=98550,
        starts_in=starts_in,
        days=5,
    )
    EventPaymentSettings.objects.create(
        event=event, full_refund_days_before=30, no_refund_days_before=7, cancellation_fee=5000
    )
    return event


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def assert_within_viewport(page, locator):
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


@pytest.mark.parametrize("width", WIDTHS)
def test_policy_before_paying_and_a_summary_that_fits(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    event = conference(timedelta(days=60))
    booking = hold_seats(event=event, buyer=buyer(), seats=2)
    log_in_browser(page, booking.purchaser)

    page.goto(event.url)
    policy = page.get_by_role("region", name="Cancellation and refunds")
    expect(policy).to_contain_text("for a full refund")
    expect(policy).to_contain_text("minus a $50.00 fee")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.goto(f"/payments/checkout/{booking.public_id}/")
    expect(page.get_by_role("heading", name="Pay for your registration")).to_be_visible()
    expect(page.get_by_role("region", name="Cancellation and refunds")).to_be_visible()
    total = page.locator("tfoot").get_by_text("$1,971.00")
    expect(total).to_be_visible()
    assert_within_viewport(page, total)
    assert_no_sideways_scroll(page)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_cancel_states_the_refund_then_gives_exactly_that(page, fake_stripe, width):
    page.set_viewport_size({"width": width, "height": 900})
    event = conference(timedelta(days=20))
    booking = hold_seats(event=event, buyer=buyer())
    order = services.order_for_booking(booking)
    services.start_card_checkout(order, success_url="http://x/ok", cancel_url="http://x/no")
    order.refresh_from_db()
    fake_stripe.complete_session(order.stripe_checkout_session_id)  # posts the webhook
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    log_in_browser(page, booking.purchaser)

    page.goto("/registrations/")
    page.get_by_role("link", name=re.compile("^Cancel")).click()
    expect(page.get_by_role("heading", name="Cancel a registration")).to_be_visible()
    quote = page.get_by_role("region", name="Your refund")
    expect(quote).to_contain_text("You get $935.50 back")
    expect(quote).to_contain_text("less the $50.00 cancellation fee")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.get_by_role("button", name=re.compile("^Cancel the registration of")).click()
    expect(page.locator(".messages")).to_contain_text("is cancelled")
    refund = Refund.objects.get(order=order)
    assert refund.amount == 93550
    page.reload()
    expect(page.locator("body")).to_contain_text("Refunded $935.50 on")
    expect(page.get_by_role("link", name=re.compile(r"Download credit note CN-"))).to_be_visible()
    assert_no_sideways_scroll(page)
