"""Small rules of the payments app: money display, signatures, form parsing, refund policy."""

import json
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import stripe
from django.utils import timezone

from cms.money import format_money
from payments.models import EventPaymentSettings
from payments.services import cancellation_refund_amount
from payments.stripe_client import checkout_origin, verify_event
from tests.fakestripe.server import parse_form


def test_money_is_shown_from_minor_units_without_floats():
    assert format_money(123456789, "usd") == "$1,234,567.89"
    assert format_money(5, "EUR") == "€0.05"
    assert format_money(-2500, "USD") == "-$25.00"


def test_fake_stripe_reads_the_sdks_bracket_notation():
    body = (
        "line_items[0][price_data][currency]=usd&line_items[0][quantity]=2"
        "&line_items[1][quantity]=1&metadata[order_id]=abc&expand[0]=payment_intent"
    )
    assert parse_form(body) == {
        "line_items": [
            {"price_data": {"currency": "usd"}, "quantity": "2"},
            {"quantity": "1"},
        ],
        "metadata": {"order_id": "abc"},
        "expand": ["payment_intent"],
    }


@pytest.fixture
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_unit"  # noqa: S105
    return settings.STRIPE_WEBHOOK_SECRET


def test_signature_made_with_the_endpoint_secret_is_accepted(webhook_secret):
    payload = json.dumps({"id": "evt_1", "type": "checkout.session.completed"})
    header = stripe.WebhookSignature.generate_signature_header(payload, webhook_secret)
    assert verify_event(payload, header) == payload


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "t=1,v1=deadbeef",
        "garbage",
    ],
)
def test_missing_or_malformed_signatures_are_refused(webhook_secret, header):
    with pytest.raises(stripe.SignatureVerificationError):
        verify_event("{}", header)


def test_a_signature_older_than_five_minutes_is_refused(webhook_secret):
    payload = "{}"
    stale = stripe.WebhookSignature.generate_signature_header(
        payload, webhook_secret, timestamp=int(time.time()) - 301
    )
    with pytest.raises(stripe.SignatureVerificationError):
        verify_event(payload, stale)


def test_without_a_webhook_secret_nothing_is_trusted(settings):
    settings.STRIPE_WEBHOOK_SECRET = None
    header = stripe.WebhookSignature.generate_signature_header("{}", "anything")
    with pytest.raises(stripe.SignatureVerificationError):
        verify_event("{}", header)


def test_checkout_origin_follows_the_api_base(settings):
    settings.STRIPE_API_BASE = None
    assert checkout_origin() == "https://checkout.stripe.com"
    settings.STRIPE_API_BASE = "http://127.0.0.1:4242/"
    assert checkout_origin() == "http://127.0.0.1:4242"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days_before", "expected"),
    [(45, 40000), (30, 40000), (29, 35000), (7, 35000), (6, 0), (0.5, 0)],
)
def test_cancellation_refund_follows_the_events_policy(days_before, expected):
    from courses.factories import make_event

    event = make_event(price=40000)
    EventPaymentSettings.objects.create(
        event=event, full_refund_days_before=30, no_refund_days_before=7, cancellation_fee=5000
    )
    order = SimpleNamespace(event=event, total=40000, subtotal=40000)
    now = event.starts_at - timedelta(days=days_before)
    assert cancellation_refund_amount(order, 40000, now=now) == expected


@pytest.mark.django_db
def test_a_discounted_seat_refunds_only_what_was_paid():
    from courses.factories import make_event

    event = make_event(price=40000)
    order = SimpleNamespace(event=event, total=60000, subtotal=80000)  # 25% off two seats
    assert cancellation_refund_amount(order, 40000, now=timezone.now()) == 30000
