"""Helpers for payments tests: run the fake Stripe, deliver its webhooks, build bookings."""

import json

import stripe
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
    """POST a JSON payload to the webhook endpoint with a Stripe signature header."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    headers = {}
    if header:
        signature = stripe.WebhookSignature.generate_signature_header(
            body, secret or fake.webhook_secret, timestamp=timestamp
        )
        headers["HTTP_STRIPE_SIGNATURE"] = signature
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
