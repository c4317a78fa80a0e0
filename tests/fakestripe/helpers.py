"""Helpers for payments tests: run the fake Stripe, deliver its webhooks, build bookings."""

import json

import stripe
from django.test import TestCase
from django.urls import reverse

from tests.fakestripe.server import FakeStripe

SECRET_KEY = "sk_test_fake"  # noqa: S105 - a test key for the fake server


def running_fake_stripe(settings, *, webhook_url=None):
    """Start the fake on 127.0.0.1 and point the project's Stripe settings at it."""
    fake = FakeStripe(webhook_url=webhook_url).start()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_API_BASE = fake.base_url
    settings.STRIPE_WEBHOOK_SECRET = fake.webhook_secret
    try:
        yield fake
    finally:
        fake.stop()


def post_webhook(client, payload, *, secret=None, timestamp=None, header=True, fake=None):
    """POST a JSON payload to the webhook endpoint with a Stripe signature header.

    Each delivery is its own request that commits, as Stripe's are: what the view queues for
    after the commit (processing the event, then the receipt and emails it leads to) runs
    before this returns. (pytest-django's `django_capture_on_commit_callbacks` is this same
    context manager; in a test with real transactions it captures nothing and changes nothing.)
    """
    body = payload if isinstance(payload, str) else json.dumps(payload)
    headers = {}
    if header:
        signature = stripe.WebhookSignature.generate_signature_header(
            body, secret or fake.webhook_secret, timestamp=timestamp
        )
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("payments:stripe_webhook"), body, content_type="application/json", **headers
        )


def deliver_sent_events(client, fake, *, event_type=None):
    """Deliver the events the fake would have sent, in order, as Stripe does."""
    responses = []
    for event in list(fake.sent_events):
        if event_type and event["type"] != event_type:
            continue
        responses.append(post_webhook(client, event, fake=fake))
    fake.sent_events.clear()
    return responses


def hold_seats(*, price=45000, seats=1, capacity=30, buyer=None, event=None, **event_fields):
    """A held booking for `seats` standard tickets at a new event (or `event`)."""
    # Here, not at the top: the webhooks benchmark imports this module before Django is set up.
    from courses import services
    from courses.factories import UserFactory, make_event

    event = event or make_event(price=price, capacity=capacity, **event_fields)
    buyer = buyer or UserFactory()
    standard = event.ticket_types.order_by("pk").first()
    attendees = [
        {"attendee_name": f"Seat {n} {buyer.legal_name}", "attendee_email": buyer.email}
        for n in range(seats)
    ]
    booking = services.place_hold(
        event=event, purchaser=buyer, tickets={standard.pk: seats}, attendees=attendees
    )
    return booking
