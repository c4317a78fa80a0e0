"""Paying in Chromium: card on the fake Stripe hosted page, invoice for an agency, and a staff
refund that takes the seat away."""

import io
import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from playwright.sync_api import expect
from pypdf import PdfReader

from courses.factories import UserFactory, make_event
from courses.models import EventFormat, RegistrationStatus
from payments import services
from payments.models import EventPaymentSettings, Order
from tests.accounts_support import log_in_browser
from tests.browser.conftest import assert_accessible
from tests.fakestripe.helpers import hold_seats, running_fake_stripe

# Real commits: Chromium talks to a live server on another thread. serialized_rollback puts
# back the data the migrations made even after other transactional tests emptied the database.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def fake_stripe(settings, live_server):
    yield from running_fake_stripe(
        settings, webhook_url=live_server.url + "/payments/stripe/webhook/"
    )


def attendee(email, name):
    user = UserFactory(email=email, legal_name=name)
    EmailAddress.objects.create(user=user, email=email, verified=True)
    return user


def register_one_seat(page, event):
    page.goto(event.url)
    page.get_by_label(re.compile("^Standard")).fill("1")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    page.get_by_role("button", name="Continue to summary").click()
    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    page.get_by_role("link", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Pay for your registration")).to_be_visible()


def test_attendee_pays_by_card_and_downloads_the_receipt(page, fake_stripe):
    # The fake Stripe stands in for checkout.stripe.com; it is the one other host allowed.
    page.problems.allowed_host.add(urlsplit(fake_stripe.base_url).hostname)
    event = make_event(
        title="Training of Trainers Conference",
        format=EventFormat.CONFERENCE,
        days=5,
        price=45000,
    )
    buyer = attendee("maria@example.org", "María José Álvarez")
    log_in_browser(page, buyer)

    register_one_seat(page, event)
    expect(page.locator("main")).to_contain_text("$450.00")
    assert_accessible(page)
    page.get_by_role("button", name="Pay $450.00 by card").click()

    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    expect(page.locator("body")).to_contain_text("maria@example.org")
    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_role("heading", name="You're registered")).to_be_visible()
    expect(page.locator("main")).to_contain_text("We received your payment of $450.00")
    assert "failed" not in page.locator("main").inner_text().lower()
    assert_accessible(page)
    order = Order.objects.get(purchaser=buyer)
    assert order.status == Order.Status.PAID
    receipt = order.documents.get()

    page.get_by_role("link", name="Go to my registrations").click()
    expect(page.locator("main")).to_contain_text(event.title)
    link = page.get_by_role("link", name=f"Download receipt {receipt.number} (PDF)")
    with page.expect_download() as download_info:
        link.click()
    pdf = PdfReader(io.BytesIO(open(download_info.value.path(), "rb").read()))  # noqa: SIM115
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert receipt.number in text
    assert "María José Álvarez" in text
    assert "$450.00" in text


def test_agency_pays_by_invoice_and_finance_marks_it_paid(page, settings):
    settings.STRIPE_SECRET_KEY = None  # the `make run` default: invoice only
    event = make_event(title="FIT Supervision Training", price=30000)
    EventPaymentSettings.objects.create(event=event, invoice_payment_enabled=True)
    coordinator = attendee("coordinator@agency.example.org", "Dana Whitfield")
    log_in_browser(page, coordinator)

    register_one_seat(page, event)
    expect(page.get_by_role("button", name=re.compile("by card"))).to_have_count(0)
    page.get_by_label("Organisation to invoice").fill("Riverside Community Mental Health")
    page.get_by_label("Billing address").fill("12 River Road\nSpringfield, IL 62701")
    page.get_by_label("Purchase-order number").fill("PO-7731")
    page.get_by_role("button", name="Send me the invoice").click()

    expect(page.get_by_role("heading", name="Your seats are booked")).to_be_visible()
    expect(page.locator("main")).to_contain_text("quoting purchase order PO-7731")
    order = Order.objects.get(purchaser=coordinator)
    expect(page.get_by_role("link", name=re.compile(r"Download invoice INV-"))).to_be_visible()

    finance = UserFactory(email="fiona@example.org", is_staff=True)
    finance.groups.add(Group.objects.get(name="Finance"))
    Authenticator.objects.create(user=finance, type=Authenticator.Type.TOTP, data={})
    page.context.clear_cookies()
    log_in_browser(page, finance, second_factor=True)
    page.goto("/admin/finance/orders/")
    page.get_by_role("searchbox", name="Search orders").fill("riverside")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=order.reference).click()
    page.get_by_label("Payment reference").fill("BACS 99812")
    page.get_by_role("button", name=re.compile("Mark paid")).click()

    expect(page.locator("body")).to_contain_text("marked paid")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payments.get().reference == "BACS 99812"


def test_finance_refunds_an_order_and_the_seat_goes(page, fake_stripe):
    booking = hold_seats(price=45000)
    order = services.order_for_booking(booking)
    services.start_card_checkout(order, success_url="http://x/ok", cancel_url="http://x/no")
    order.refresh_from_db()
    fake_stripe.complete_session(order.stripe_checkout_session_id)  # posts the webhook
    order.refresh_from_db()
    assert order.status == Order.Status.PAID

    finance = UserFactory(email="fiona@example.org", is_staff=True)
    finance.groups.add(Group.objects.get(name="Finance"))
    Authenticator.objects.create(user=finance, type=Authenticator.Type.TOTP, data={})
    log_in_browser(page, finance, second_factor=True)
    page.goto(f"/admin/finance/orders/{order.public_id}/")
    expect(page.locator("body")).to_contain_text("checkout.session.completed")
    page.get_by_label(re.compile("Amount to refund")).fill("450.00")
    page.get_by_label("Reason").fill("Cannot attend")
    page.get_by_label("Yes, refund this amount to the buyer").check()
    page.get_by_role("button", name="Refund").click()

    expect(page.locator("body")).to_contain_text("Refund of $450.00: succeeded")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    registration = order.booking.registrations.get()
    assert registration.status == RegistrationStatus.CANCELLED


def test_processing_page_turns_into_the_confirmation_by_itself(page, settings):
    """No webhook arrives here: the page's poll (frontend/payments.js) finds the payment."""
    fake_gen = running_fake_stripe(settings)  # no webhook URL: Stripe's webhook is "lost"
    fake = next(fake_gen)
    try:
        page.problems.allowed_host.add(urlsplit(fake.base_url).hostname)
        booking = hold_seats(price=45000)
        order = services.order_for_booking(booking)
        services.start_card_checkout(order, success_url="http://x/ok", cancel_url="http://x/no")
        order.refresh_from_db()
        log_in_browser(page, booking.purchaser)

        page.goto(f"/payments/orders/{order.public_id}/")
        expect(page.get_by_role("heading", name="Payment processing")).to_be_visible()
        expect(page.get_by_role("link", name="Check again")).to_be_visible()
        assert_accessible(page)
        fake.complete_session(order.stripe_checkout_session_id, send_webhook=False)

        # The poll asks Stripe at most every 10 seconds: wait longer than that.
        expect(page.get_by_role("heading", name="You're registered")).to_be_visible(timeout=30_000)
        assert "failed" not in page.locator("main").inner_text().lower()
    finally:
        fake_gen.close()
