"""Issue 15, item 2 in Chromium at desktop and phone widths: a therapist paying for themselves
by invoice names no organisation, is told plainly that payment is by invoice, and gets an
invoice made out to them that says how to pay (and, when card payments are on, where to pay
it by card), with the organisation's name printed once."""

import re
import subprocess
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect
from wagtail.models import Site

from cms.models import SiteSettings
from courses.factories import UserFactory, make_event
from courses.models import EventFormat
from payments.models import EventPaymentSettings, Order
from tests.accounts_support import log_in_browser
from tests.browser.conftest import assert_accessible, local_path
from tests.fakestripe.helpers import hold_seats, running_fake_stripe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
ORGANISATION = "Heart and Soul of Change Project"
HOW_TO_PAY = "Bank transfer to account 12-3456, routing 99. Cheques to PO Box 7, Jensen Beach."


def assert_fits_and_accessible(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    assert_accessible(page)


def pdf_text(data):
    """The PDF's text as pdftotext lays it out, whitespace collapsed."""
    result = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())


def self_paying_therapist_on_hold():
    """The site's payment instructions, a conference offering invoices, and a therapist with
    one seat held on it (the postal address repeats the organisation's name, as people type
    it)."""
    site_settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    site_settings.organisation_name = ORGANISATION
    site_settings.postal_address = f"{ORGANISATION}\nJensen Beach, FL 34957"
    site_settings.invoice_payment_instructions = HOW_TO_PAY
    site_settings.save()
    event = make_event(
        title="Training of Trainers Conference", format=EventFormat.CONFERENCE, price=98550
    )
    EventPaymentSettings.objects.create(event=event, invoice_payment_enabled=True)
    therapist = UserFactory(email="tess@example.org", legal_name="Tess Therapist")
    EmailAddress.objects.create(user=therapist, email=therapist.email, verified=True)
    return hold_seats(event=event, buyer=therapist)


def choose_invoice_without_organisation(page, booking):
    """On the payment page: the organisation is optional; only the address is given."""
    page.goto(f"/payments/checkout/{booking.public_id}/")
    invoice = page.get_by_role("region", name="Pay by invoice")
    expect(invoice.get_by_label("Organisation to invoice (optional)")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("not available")
    assert_fits_and_accessible(page)
    invoice.get_by_label("Billing address").fill("4 Palm Lane\nStuart, FL 34994")
    invoice.get_by_role("button", name="Send me the invoice").click()
    expect(page.get_by_role("heading", name="Your seats are booked")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Please pay $985.50 by")


def the_invoice(page):
    link = page.get_by_role("link", name=re.compile(r"^Download invoice INV-"))
    expect(link).to_be_visible()
    return pdf_text(page.request.get(link.get_attribute("href")).body())


@pytest.mark.parametrize("width", WIDTHS)
def test_a_self_paying_therapist_is_invoiced_in_their_own_name_with_how_to_pay(
    page, settings, width
):
    settings.STRIPE_SECRET_KEY = None  # card payments off: the `make run` default
    page.set_viewport_size({"width": width, "height": 900})
    booking = self_paying_therapist_on_hold()
    log_in_browser(page, booking.purchaser)

    page.goto(f"/payments/checkout/{booking.public_id}/")
    expect(page.get_by_role("region", name="Pay by invoice")).to_contain_text(
        "Payment for this event is by invoice"
    )
    expect(page.get_by_role("button", name=re.compile("by card"))).to_have_count(0)
    choose_invoice_without_organisation(page, booking)
    assert Order.objects.get(booking=booking).billing_name == "Tess Therapist"
    assert_fits_and_accessible(page)

    text = the_invoice(page)
    assert "Bill to Tess Therapist 4 Palm Lane Stuart, FL 34994" in text, text
    assert f"How to pay {HOW_TO_PAY}" in text, text
    assert text.count(ORGANISATION) == 1, text
    assert "Jensen Beach, FL 34957" in text
    assert "by card" not in text


@pytest.fixture
def fake_stripe(settings, live_server):
    yield from running_fake_stripe(
        settings, webhook_url=live_server.url + "/payments/stripe/webhook/"
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_with_card_payments_on_the_invoice_links_to_paying_it_by_card(
    page, live_server, settings, fake_stripe, width
):
    settings.SITE_URL = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    booking = self_paying_therapist_on_hold()
    log_in_browser(page, booking.purchaser)

    choose_invoice_without_organisation(page, booking)
    order = Order.objects.get(booking=booking)
    text = the_invoice(page)
    assert f"How to pay {HOW_TO_PAY}" in text, text
    pay_online = f"{live_server.url}/payments/orders/{order.public_id}/"
    assert "Or pay by card online, signed in to your account: http" in text, text
    # The address may wrap in the PDF (and pdftotext drops a hyphen at a line's end).
    assert pay_online.replace("-", "") in "".join(text.split()).replace("-", ""), text
    assert text.count(ORGANISATION) == 1, text

    page.goto(local_path(pay_online))
    pay = page.get_by_role("button", name="Pay this invoice by card now ($985.50)")
    expect(pay).to_be_visible()
    assert_fits_and_accessible(page)

    # The button leads to Stripe's hosted page (the site's CSP lets this form go there).
    page.problems.allowed_host.add(urlsplit(fake_stripe.base_url).hostname)
    pay.click()
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
