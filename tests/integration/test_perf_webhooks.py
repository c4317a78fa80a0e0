"""The Stripe webhook endpoint's own cost: a first delivery is verified, stored and promised
in one statement on PostgreSQL, two INSERTs on SQLite, and nothing else (no transaction or
savepoint of its own, no look for an earlier event or promise); processing waits for the
worker (counted, never timed)."""

import json

import pytest
import stripe
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cms.models import OutboxMessage, OutboxStatus
from payments.models import WebhookEvent

pytestmark = pytest.mark.django_db

SECRET = "whsec_endpoint_cost"


def _post(client, event):
    body = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(body, SECRET)
    return client.post(
        reverse("payments:stripe_webhook"),
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )


def test_a_first_delivery_is_one_statement_and_the_promise_waits_for_the_worker(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    event = {"id": "evt_cost_1", "type": "customer.created", "data": {"object": {}}}

    # The test's own transaction is not committed, so nothing runs after commit here: what
    # is counted is the endpoint alone.
    with CaptureQueriesContext(connection) as captured:
        response = _post(client, event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    statements = [query["sql"].upper() for query in captured.captured_queries]
    # The event in an INSERT that skips a known id, and the promise; no savepoint, no look-up.
    # PostgreSQL writes both in one statement; SQLite has no data-modifying WITH.
    if connection.vendor == "postgresql":
        assert len(statements) == 1, statements
        assert statements[0].startswith(
            'WITH INSERTED (PK) AS (INSERT INTO "PAYMENTS_WEBHOOKEVENT"'
        )
        assert 'INSERT INTO "CMS_OUTBOXMESSAGE"' in statements[0]
    else:
        assert len(statements) == 2, statements
        assert statements[0].startswith('INSERT INTO "PAYMENTS_WEBHOOKEVENT"')
        assert statements[1].startswith('INSERT INTO "CMS_OUTBOXMESSAGE"')
    assert "ON CONFLICT" in statements[0]

    stored = WebhookEvent.objects.get(stripe_event_id="evt_cost_1")
    assert (stored.type, stored.payload, stored.deliveries) == ("customer.created", event, 1)
    assert stored.processed_at is None
    promise = OutboxMessage.objects.get()
    assert promise.status == OutboxStatus.PENDING
    assert (promise.kind, promise.name) == ("task", "payments.tasks.process_webhook_event")
    assert promise.payload == {"args": [stored.pk], "kwargs": {}}
    assert promise.key == f"payments:stripe-event:{stored.pk}:1"
    assert (promise.attempts, promise.last_error, promise.claimed_at) == (0, "", None)
    assert promise.created_at is not None and promise.next_attempt_at is not None


def test_a_repeated_delivery_before_processing_is_promised_once_more(client, settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    event = {"id": "evt_cost_2", "type": "customer.created", "data": {"object": {}}}

    first, second = _post(client, event), _post(client, event)

    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is False
    assert WebhookEvent.objects.get(stripe_event_id="evt_cost_2").deliveries == 2
    # The first promise still waits, so the second delivery adds none.
    assert OutboxMessage.objects.count() == 1
