"""Finance's screens: orders, the order timeline, refunds, invoices marked paid, revenue."""

import csv
import io
import re

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from cms.roles import FINANCE
from courses import services as courses_services
from courses.factories import UserFactory
from courses.models import BookingStatus, RegistrationStatus
from payments import services
from payments.models import DiscountCode, EventPaymentSettings, Order, PaymentAttempt, Refund
from tests.accounts_support import log_in_with_second_factor
from tests.fakestripe.helpers import deliver_sent_events, hold_seats, running_fake_stripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


def with_two_factor(user):
    """Everyone who reaches the admin has TOTP (cms.middleware insists)."""
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={})
    return user


@pytest.fixture
def finance_client(client):
    user = UserFactory(email="finance@example.org", legal_name="Fiona Finance")
    user.groups.add(Group.objects.get(name="Finance"))
    log_in_with_second_factor(client, with_two_factor(user))
    return client


def paid_order(client, fake_stripe, **hold):
    booking = hold_seats(**hold)
    order = services.order_for_booking(booking)
    services.start_card_checkout(order, success_url="http://testserver/ok", cancel_url="http://x")
    order.refresh_from_db()
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def test_staff_partial_then_full_refund_from_the_admin(finance_client, fake_stripe):
    order = paid_order(finance_client, fake_stripe, price=45000, seats=2)
    url = reverse("payments_admin:order", args=[order.public_id])

    page = finance_client.get(url)
    assert "Up to $900.00 can be refunded" in page.text
    assert "checkout.session.completed" in page.text  # the webhook in the timeline
    assert "Order moved from awaiting payment to paid." in page.text  # sentences, not raw records
    assert "{'total'" not in page.text and "payments.order" not in page.text

    # Without the confirmation box ticked nothing is refunded.
    unconfirmed = finance_client.post(
        reverse("payments_admin:order_refund", args=[order.public_id]),
        {"amount": "100.00"},
        follow=True,
    )
    assert "tick the box to confirm the refund" in unconfirmed.text
    assert not Refund.objects.filter(order=order).exists()

    response = finance_client.post(
        reverse("payments_admin:order_refund", args=[order.public_id]),
        {"amount": "100.00", "reason": "Travel grant", "confirm": "on"},
        follow=True,
    )
    assert "Refund of $100.00: succeeded" in response.text
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.booking.registrations.filter(status=RegistrationStatus.CONFIRMED).count() == 2
    order.booking.refresh_from_db()
    assert order.booking.paid_at is not None
    assert PaymentAttempt.objects.get(order=order).status == PaymentAttempt.Status.PAID
    refund_call = next(r for r in fake_stripe.requests if r["path"] == "/v1/refunds")
    assert refund_call["idempotency_key"].startswith("refund-")
    assert refund_call["params"]["amount"] == "10000"

    # Too much: refused with the limit, nothing sent to Stripe.
    refused = finance_client.post(
        reverse("payments_admin:order_refund", args=[order.public_id]),
        {"amount": "900.00", "confirm": "on"},
        follow=True,
    )
    assert "The most you can refund is $800.00" in refused.text
    assert len([r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]) == 1

    finance_client.post(
        reverse("payments_admin:order_refund", args=[order.public_id]),
        {"amount": "800.00", "confirm": "on"},
    )
    deliver_sent_events(finance_client, fake_stripe)  # charge.refunded, twice: no change

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.amount_refunded == 90000
    assert Refund.objects.filter(order=order).count() == 2
    booking = order.booking
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert not booking.registrations.filter(status=RegistrationStatus.CONFIRMED).exists()
    assert booking.paid_at is None  # refunded in full: nothing stays paid for
    assert PaymentAttempt.objects.get(order=order).status == PaymentAttempt.Status.REFUNDED
    timeline = finance_client.get(url).text
    assert "Travel grant" in timeline
    assert "Refunded" in timeline


def test_a_refund_stripe_refuses_is_shown_and_recorded_as_failed(finance_client, fake_stripe):
    order = paid_order(finance_client, fake_stripe)
    # Someone refunded in the Stripe dashboard and the webhook has not arrived yet.
    fake_stripe.create_refund(
        {"payment_intent": order.stripe_payment_intent_id}, send_webhook=False
    )

    response = finance_client.post(
        reverse("payments_admin:order_refund", args=[order.public_id]),
        {"amount": "10.00", "confirm": "on"},
        follow=True,
    )

    assert "Stripe refused the refund" in response.text
    assert "Nothing was refunded" in response.text
    assert Refund.objects.get(order=order).status == Refund.Status.FAILED


def test_negative_refund_is_refused(fake_stripe, client):
    order = paid_order(client, fake_stripe)
    with pytest.raises(services.PaymentError, match="above zero"):
        services.refund_order(order, -100)


def test_orders_list_search_filters_and_csv(finance_client, fake_stripe):
    paid = paid_order(finance_client, fake_stripe)
    other = services.order_for_booking(hold_seats(buyer=UserFactory(email="zed@example.org")))

    page = finance_client.get(reverse("payments_admin:orders"))
    assert paid.reference in page.text and other.reference in page.text

    searched = finance_client.get(reverse("payments_admin:orders"), {"q": "zed@example"})
    assert other.reference in searched.text and paid.reference not in searched.text

    filtered = finance_client.get(reverse("payments_admin:orders"), {"status": "paid"})
    assert paid.reference in filtered.text and other.reference not in filtered.text

    export = finance_client.get(reverse("payments_admin:orders_csv"), {"status": "paid"})
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:3] == ["Order", "Created (UTC)", "Event"]
    assert [row[0] for row in rows[1:]] == [paid.reference]
    assert rows[1][8:10] == ["450.00", "450.00"]


def test_revenue_per_event_by_ticket_type(finance_client, fake_stripe):
    order = paid_order(finance_client, fake_stripe, price=45000, seats=2)
    services.refund_order(order, 10000, reason="partial")

    page = finance_client.get(reverse("payments_admin:revenue"))

    assert order.event.title in page.text
    assert "<svg" in page.text  # the chart, drawn on the server
    assert "$900.00" in page.text  # gross
    assert "$100.00" in page.text  # refunds
    assert "$800.00" in page.text  # net
    export = finance_client.get(reverse("payments_admin:revenue"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[1][1:] == ["Standard", "USD", "2", "900.00", "100.00", "800.00"]


@pytest.mark.parametrize("role", [None, "Event manager", "CE administrator"])
def test_finance_screens_are_for_the_finance_role_only(client, fake_stripe, role):
    order = paid_order(client, fake_stripe)
    user = with_two_factor(UserFactory())
    if role:
        user.groups.add(Group.objects.get(name=role))
    log_in_with_second_factor(client, user)

    # Other roles reach the admin, and Wagtail sends them back to its dashboard from Finance's
    # screens; people without an admin role are sent to log in.
    def assert_denied(response, url):
        assert response.status_code == 302, url
        if role:
            assert response["Location"] == "/admin/", url
        else:
            assert "login" in response["Location"], url

    for url in [
        reverse("payments_admin:orders"),
        reverse("payments_admin:orders_csv"),
        reverse("payments_admin:revenue"),
        reverse("payments_admin:order", args=[order.public_id]),
    ]:
        assert_denied(client.get(url), url)
    response = client.post(
        reverse("payments_admin:order_refund", args=[order.public_id]),
        {"amount": "450.00", "confirm": "on"},
    )
    assert_denied(response, "refund")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert not Refund.objects.exists()


def test_receipt_is_downloadable_by_its_buyer_and_finance_only(client, fake_stripe):
    order = paid_order(client, fake_stripe)
    receipt = order.documents.get()
    url = reverse("payments:document", args=[receipt.public_id])

    client.force_login(order.purchaser)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert receipt.number in response["Content-Disposition"]

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404

    finance = UserFactory()
    finance.groups.add(Group.objects.get(name="Finance"))
    log_in_with_second_factor(client, finance)
    assert client.get(url).status_code == 200


def test_attendee_cancellation_refunds_by_the_event_policy(client, fake_stripe):
    order = paid_order(client, fake_stripe, price=45000, seats=1)
    EventPaymentSettings.objects.create(
        event=order.event,
        full_refund_days_before=60,
        no_refund_days_before=7,
        cancellation_fee=5000,
    )
    registration = order.booking.registrations.get()
    mail.outbox.clear()

    courses_services.cancel_registration(registration, actor=order.purchaser)

    refund = Refund.objects.get(order=order)
    # The event starts in 30 days: between the limits, so the fee is kept.
    assert (refund.amount, refund.origin, refund.status) == (40000, "cancellation", "succeeded")
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED


def test_finance_manages_discount_codes_and_impossible_ones_are_refused(finance_client):
    index = finance_client.get("/admin/payments_discount_codes/")
    assert index.status_code == 200
    response = finance_client.post(
        "/admin/payments_discount_codes/new/",
        {"code": "half", "kind": "percent", "percent_off": "150", "currency": "USD"},
    )
    assert response.status_code == 200
    assert (
        "Enter a percentage between 1 and 100" in response.text
        or "less than or equal to 100" in response.text
    )
    assert not DiscountCode.objects.exists()
    finance_client.post(
        "/admin/payments_discount_codes/new/",
        {"code": "half", "kind": "percent", "percent_off": "50", "currency": "USD", "active": "on"},
    )
    assert DiscountCode.objects.get().code == "HALF"


def test_event_managers_cannot_open_discount_codes(client):
    user = with_two_factor(UserFactory())
    user.groups.add(Group.objects.get(name="Event manager"))
    log_in_with_second_factor(client, user)
    response = client.get("/admin/payments_discount_codes/")
    assert response.status_code in (302, 403)
    assert "HALF" not in response.text


def test_finance_screens_have_a_browser_tab_title(client, staff_signed_in):
    staff_signed_in(FINANCE, email="finance@example.org")

    def title(path):
        page = client.get(path).content.decode()
        return re.search(r"<title>\s*(.*?)\s*</title>", page, re.S).group(1)

    assert title("/admin/finance/orders/").startswith("Orders")
    assert title("/admin/finance/orders/revenue/").startswith("Revenue")


def test_the_order_timeline_shows_each_checkout_attempt_and_its_flag(finance_client, fake_stripe):
    booking = hold_seats(price=45000)
    order = services.order_for_booking(booking)
    services.start_card_checkout(order, success_url="http://testserver/ok", cancel_url="http://x")
    order.refresh_from_db()
    fake_stripe.complete_session(order.stripe_checkout_session_id, amount=100)
    deliver_sent_events(finance_client, fake_stripe)

    page = finance_client.get(reverse("payments_admin:order", args=[order.public_id]))

    assert "Card checkout" in page.text
    assert "Card checkout for $450.00: paid. $1.00 was received. Flagged: Stripe took $1.00" in (
        page.text
    )
    assert "Card checkout moved from checkout started to paid." in page.text
