"""The one place that builds the Stripe client, so tests can point it at the fake server."""

from urllib.parse import urlsplit

import stripe
from django.conf import settings


def card_payments_enabled():
    """Card payment is offered only when a Stripe secret key is configured."""
    return bool(settings.STRIPE_SECRET_KEY)


# Seconds to connect to Stripe and to wait for its answer. The SDK's default is 80 s per try:
# a buyer would stare at a spinner for minutes while Stripe is unreachable.
STRIPE_TIMEOUT = (5, 30)


def get_client():
    """A `stripe.StripeClient` for the configured key (and API base, for the fake server)."""
    base_addresses = {}
    if settings.STRIPE_API_BASE:
        base_addresses["api"] = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=base_addresses or None,
        # The SDK retries network errors with the same idempotency key, so a retry never
        # creates a second session or refund.
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT),
    )


def verify_event(payload, signature_header):
    """Check the `Stripe-Signature` header (HMAC-SHA256, 5-minute tolerance); return the event.

    Raises `stripe.SignatureVerificationError` or `ValueError` for anything not from Stripe.
    """
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise stripe.SignatureVerificationError(
            "No webhook secret is configured.", signature_header
        )
    stripe.WebhookSignature.verify_header(
        payload, signature_header, settings.STRIPE_WEBHOOK_SECRET, tolerance=300
    )
    return payload


def checkout_origin():
    """The origin of Stripe's hosted checkout page, allowed as a form target by the CSP."""
    if settings.STRIPE_API_BASE:
        parts = urlsplit(settings.STRIPE_API_BASE)
        return f"{parts.scheme}://{parts.netloc}"
    return "https://checkout.stripe.com"
