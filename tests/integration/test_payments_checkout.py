"""Paying for a booking by card through Stripe Checkout (the fake Stripe), free, or discounted."""

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cms.models import AuditRecord
from courses import services as courses_services
from courses.factories import UserFactory, make_event
from courses.models import BookingStatus, RegistrationAddOn
from payments.models import EventPaymentSettings, FinanceDocument, Order, Payment
from tests.fakestripe.helpers import deliver_sent_events, hold_seats, running_fake_stripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def start_card_payment(client, booking):
    client.force_login(booking.purchaser)
    response = client.post(
        reverse("payments:checkout", args=[booking.public_id]), {"action": "card"}
    )
    assert response.status_code == 302
    return response["Location"]


def test_card_payment_confirms_the_seats_and_emails_a_numbered_receipt(client, fake_stripe):
    booking = hold_seats(price=45000, seats=2)
    client.force_login(booking.purchaser)

    page = client.get(reverse("payments:checkout", args=[booking.public_id]))
    assert "Pay $900.00 by card" in page.text
    assert "Standard" in page.text
    # The card form posts to Stripe's page: the CSP must let the form go there.
    assert fake_stripe.base_url in page["Content-Security-Policy"]

    hosted_url = start_card_payment(client, booking)
    assert hosted_url.startswith(fake_stripe.base_url + "/checkout/pay/cs_test_")
    create = next(r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions")
    order = Order.objects.get(booking=booking)
    assert create["idempotency_key"] == f"checkout-{order.public_id}-1"
    assert create["params"]["customer_email"] == booking.purchaser.email
    assert create["params"]["metadata"]["order_id"] == str(order.public_id)
    assert create["params"]["line_items"][0]["quantity"] == "2"
    assert create["params"]["line_items"][0]["price_data"]["unit_amount"] == "45000"
    # The session cannot outlive Stripe's minimum, and never ends before the seat hold.
    assert int(create["params"]["expires_at"]) >= booking.expires_at.timestamp()

    fake_stripe.complete_session(order.stripe_checkout_session_id)
    mail.outbox.clear()
    (response,) = deliver_sent_events(client, fake_stripe)

    assert response.status_code == 200
    order.refresh_from_db()
    booking.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert booking.status == BookingStatus.CONFIRMED
    assert Payment.objects.get(order=order).amount == 90000
    receipt = FinanceDocument.objects.get(order=order, kind="receipt")
    year = timezone.now().year
    assert receipt.number == f"R-{year}-00001"
    receipt_mail = next(m for m in mail.outbox if m.subject.startswith("Receipt"))
    assert receipt_mail.to == [booking.purchaser.email]
    name, content, mimetype = receipt_mail.attachments[0]
    assert (name, mimetype) == (f"R-{year}-00001.pdf", "application/pdf")
    text = pdf_text(content)
    assert "Receipt" in text and f"R-{year}-00001" in text
    assert "$900.00" in text
    assert booking.event.title in text
    assert AuditRecord.objects.filter(
        action="payments.order.status_changed", object_id=str(order.pk)
    )

    confirmation = client.get(
        reverse("payments:order_return", args=[order.public_id])
        + f"?session_id={order.stripe_checkout_session_id}"
    )
    assert "You're registered" in confirmation.text
    assert "We received your payment of $900.00" in confirmation.text
    assert f"Download receipt R-{year}-00001 (PDF)" in confirmation.text


def test_return_page_says_processing_until_stripe_reports_the_payment(client, fake_stripe):
    booking = hold_seats()
    start_card_payment(client, booking)
    order = Order.objects.get(booking=booking)
    return_url = reverse("payments:order_return", args=[order.public_id])

    # Back from Stripe before the payment is final: never "failed", never a second charge.
    page = client.get(return_url + f"?session_id={order.stripe_checkout_session_id}")
    assert "Payment processing" in page.text
    assert "Please don't pay again" in page.text
    assert "failed" not in page.text.lower()
    assert "dist/payments.js" in page.text
    status = client.get(reverse("payments:order_status", args=[order.public_id])).json()
    assert status == {"state": "processing", "done": False}

    # Stripe completed the payment but its webhook has not arrived: the page checks itself.
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    page = client.get(return_url + f"?session_id={order.stripe_checkout_session_id}")
    assert "Registration confirmed" in page.text
    assert client.get(reverse("payments:order_status", args=[order.public_id])).json() == {
        "state": "confirmed",
        "done": True,
    }
    # The late webhook changes nothing: still one payment.
    deliver_sent_events(client, fake_stripe)
    assert Payment.objects.filter(order=order).count() == 1


def test_a_second_click_reuses_the_open_checkout_session(client, fake_stripe):
    booking = hold_seats()
    first = start_card_payment(client, booking)
    second = start_card_payment(client, booking)
    assert first == second
    creates = [r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions"]
    assert len(creates) == 1


def test_leaving_stripe_page_says_nothing_was_charged(client, fake_stripe):
    booking = hold_seats()
    start_card_payment(client, booking)
    response = client.get(
        reverse("payments:checkout_cancelled", args=[booking.public_id]), follow=True
    )
    assert "nothing was charged" in response.text
    assert "Pay $450.00 by card" in response.text


def test_free_order_confirms_without_stripe(client, fake_stripe):
    booking = hold_seats(price=0)
    client.force_login(booking.purchaser)
    page = client.get(reverse("payments:checkout", args=[booking.public_id]))
    assert "Nothing to pay" in page.text
    assert "by card" not in page.text

    response = client.post(
        reverse("payments:checkout", args=[booking.public_id]), {"action": "free"}, follow=True
    )

    assert "Registration confirmed" in response.text
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert Order.objects.get(booking=booking).payment_method == Order.Method.FREE
    assert fake_stripe.requests == []


def test_without_a_stripe_key_card_is_hidden_and_invoice_offered(client, settings):
    settings.STRIPE_SECRET_KEY = None
    booking = hold_seats()
    client.force_login(booking.purchaser)

    page = client.get(reverse("payments:checkout", args=[booking.public_id]))

    assert "by card" not in page.text
    assert "Pay by invoice" in page.text
    assert "Payment for this event is by invoice" in page.text
    refused = client.post(
        reverse("payments:checkout", args=[booking.public_id]), {"action": "card"}, follow=True
    )
    assert "Card payment is not available" in refused.text


def test_expired_hold_is_not_charged(client, fake_stripe):
    booking = hold_seats()
    booking.expires_at = timezone.now() - timedelta(minutes=1)
    booking.save()
    client.force_login(booking.purchaser)

    page = client.post(
        reverse("payments:checkout", args=[booking.public_id]), {"action": "card"}, follow=True
    )

    assert "Your seat hold has expired" in page.text
    assert fake_stripe.requests == []


def test_other_people_cannot_open_someone_elses_checkout_or_order(client, fake_stripe):
    booking = hold_seats()
    start_card_payment(client, booking)
    order = Order.objects.get(booking=booking)
    client.force_login(UserFactory())

    assert client.get(reverse("payments:checkout", args=[booking.public_id])).status_code == 404
    assert client.get(reverse("payments:order_return", args=[order.public_id])).status_code == 404
    assert client.get(reverse("payments:order_status", args=[order.public_id])).status_code == 404
    client.logout()
    response = client.get(reverse("payments:checkout", args=[booking.public_id]))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_success_url_carries_the_session_placeholder(client, fake_stripe):
    booking = hold_seats()
    start_card_payment(client, booking)
    create = next(r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions")
    success = urlsplit(create["params"]["success_url"])
    assert parse_qs(success.query) == {"session_id": ["{CHECKOUT_SESSION_ID}"]}


def test_checkout_shows_hold_in_event_zone_money_and_due_date_in_site_style(
    client, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = "sk_test_unused"
    booking = hold_seats(price=109500, seats=1, time_zone="America/New_York")
    EventPaymentSettings.objects.create(
        event=booking.event, invoice_payment_enabled=True, invoice_due_days=30
    )
    client.force_login(booking.purchaser)

    page = client.get(reverse("payments:checkout", args=[booking.public_id])).content.decode()

    held = timezone.localtime(booking.expires_at, booking.event.zone)
    assert "Your seats are held until" in page
    assert held.strftime("%-I:%M %p ") + held.tzname() in page  # e.g. "12:00 AM EST"
    assert " UTC" not in page
    assert "$1,095.00" in page and "1,095.00 USD" not in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("payments:checkout", args=[booking.public_id]),
            {
                "action": "invoice",
                "billing_name": "Riverside Community Mental Health",
                "billing_address": "12 River Road\nSpringfield, IL 62701",
                "po_number": "PO-7731",
            },
        )
    due = Order.objects.get(booking=booking).invoice_due_date
    page = client.get(response["Location"]).content.decode()
    assert f"Please pay $1,095.00 by {due.day} {due:%B %Y}" in page


def held_seat_with_ce_add_on(seats=1):
    """A held booking at $450 a seat, at an event offering a $50 CE add-on (not yet ticked)."""
    event = make_event(price=45000, add_ons=[("CE credits", 5000, True)])
    booking = hold_seats(event=event, seats=seats)
    return booking, event.add_ons.get(name="CE credits")


def tick(booking, add_on, *, seat=0):
    registration = booking.registrations.order_by("pk")[seat]
    courses_services.update_attendee_details(
        registration, {"add_on_ids": [add_on.pk]}, actor=booking.purchaser
    )


def test_an_add_on_ticked_after_the_order_exists_is_shown_and_charged(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    booking, ce = held_seat_with_ce_add_on()
    start_card_payment(client, booking)
    order = Order.objects.get(booking=booking)
    old_session = order.stripe_checkout_session_id
    assert fake_stripe.sessions[old_session]["amount_total"] == 45000

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tick(booking, ce)
        # The change is written under the booking's lock; Stripe is asked after the commit.
        assert not [r for r in fake_stripe.requests if r["path"].endswith("/expire")]
    assert callbacks

    order.refresh_from_db()
    assert (order.subtotal, order.total, order.stripe_checkout_session_id) == (50000, 50000, "")
    assert fake_stripe.sessions[old_session]["status"] == "expired"
    page = client.get(reverse("payments:checkout", args=[booking.public_id]))
    assert "CE credits" in page.text
    assert "Pay $500.00 by card" in page.text

    hosted_url = start_card_payment(client, booking)
    order.refresh_from_db()
    assert order.stripe_checkout_session_id not in ("", old_session)
    assert hosted_url.endswith(order.stripe_checkout_session_id)
    assert fake_stripe.sessions[order.stripe_checkout_session_id]["amount_total"] == 50000
    assert fake_stripe.requests[-1]["idempotency_key"] == f"checkout-{order.public_id}-2"
    # The expired session's webhook no longer matches the order: the seats stay held.
    deliver_sent_events(client, fake_stripe, event_type="checkout.session.expired")
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.booking.status == BookingStatus.HELD


def test_the_order_follows_the_booking_before_any_session_is_opened(client, fake_stripe):
    booking, ce = held_seat_with_ce_add_on(seats=2)
    client.force_login(booking.purchaser)
    assert (
        "Pay $900.00 by card"
        in client.get(reverse("payments:checkout", args=[booking.public_id])).text
    )

    tick(booking, ce, seat=1)
    assert (
        "Pay $950.00 by card"
        in client.get(reverse("payments:checkout", args=[booking.public_id])).text
    )

    # One held seat cancelled: the order drops it (and its add-on) too.
    courses_services.cancel_registration(
        booking.registrations.order_by("pk")[1], actor=booking.purchaser
    )
    order = Order.objects.get(booking=booking)
    assert (order.subtotal, order.total) == (45000, 45000)
    assert [(line.kind, line.quantity) for line in order.line_items.all()] == [("ticket", 1)]
    assert AuditRecord.objects.filter(action="payments.order.repriced").count() == 2


def test_a_stale_open_session_is_not_reused_when_the_page_is_behind_the_booking(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    booking, ce = held_seat_with_ce_add_on()
    start_card_payment(client, booking)
    order = Order.objects.get(booking=booking)
    old_session = order.stripe_checkout_session_id
    # The add-on line is written without telling payments (as if the signal were missed).
    registration = booking.registrations.get()
    RegistrationAddOn.objects.create(registration=registration, add_on=ce, unit_price=5000)

    with django_capture_on_commit_callbacks(execute=True):
        hosted_url = start_card_payment(client, booking)

    order.refresh_from_db()
    assert order.total == 50000
    assert hosted_url.endswith(order.stripe_checkout_session_id)
    assert order.stripe_checkout_session_id != old_session
    assert fake_stripe.sessions[old_session]["status"] == "expired"
    assert fake_stripe.sessions[order.stripe_checkout_session_id]["amount_total"] == 50000


def test_a_free_order_records_the_booking_as_paid(client, fake_stripe):
    booking = hold_seats(price=0)
    client.force_login(booking.purchaser)
    client.post(reverse("payments:checkout", args=[booking.public_id]), {"action": "free"})
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.paid_at is not None
