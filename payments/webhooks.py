"""Stripe webhooks: verify, store once, answer 200; processing is promised durably.

Storing the event and promising to process it (`services.queue_event`, a `cms.outbox` row) are
one transaction: a broker outage delays processing, it never answers 500 or loses the event.
The outbox hands the promise to Celery after the commit and its sweep retries; the periodic
`process_stale_events` is the last safety net. The stored event id is unique, so a repeated
delivery stores nothing new. A redelivered event that was stored but never processed is
promised again (unless a promise is still waiting) and answered as new, never "duplicate".

The task (`payments.services.process_event`) never trusts the event's copy of an object: each
handler re-reads the session, charge or payment intent from Stripe before acting, which also
makes the order of arrival irrelevant, and processing an event twice changes nothing.
"""

import json
import logging

import stripe
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cms.access import signed_webhook
from payments import services
from payments.models import WebhookEvent
from payments.services.stripe_events import event_processing_waits
from payments.stripe_client import verify_event

log = logging.getLogger(__name__)


@signed_webhook
@csrf_exempt
@require_POST
def stripe_webhook(request):
    """The one Stripe endpoint: 400 for anything unsigned, 200 as soon as the event is stored."""
    try:
        payload = request.body.decode("utf-8")
        verify_event(payload, request.headers.get("Stripe-Signature"))
        event = json.loads(payload)
        event_id, event_type = event["id"], event["type"]
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        log.warning("Rejected a webhook without a valid Stripe signature")
        return HttpResponseBadRequest("Invalid Stripe signature.")
    record, pending = store_event(event_id, event_type, event)
    return JsonResponse({"received": True, "duplicate": not pending})


def store_event(event_id, event_type, payload):
    """Store the event once and, in the same transaction, promise to process it.

    Returns (record, pending): `pending` is False only for an event already processed (a true
    duplicate). An unprocessed event is promised again unless an earlier promise still waits.

    A first delivery is one transaction of two INSERTs: the event and the promise, with no
    savepoint and no look for an earlier promise (none can name a row made in this transaction;
    the endpoint's cost is its round trips to the database). A repeated delivery fails the
    first insert on the unique event id, rolls it back and is handled in a transaction of its
    own.
    """
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.create(
                stripe_event_id=event_id, type=event_type, payload=payload
            )
            services.queue_event(record, just_stored=True)
        return record, True
    except IntegrityError:
        if not WebhookEvent.objects.filter(stripe_event_id=event_id).exists():
            raise  # not a repeated delivery: a real error
    with transaction.atomic():
        WebhookEvent.objects.filter(stripe_event_id=event_id).update(deliveries=F("deliveries") + 1)
        record = WebhookEvent.objects.get(stripe_event_id=event_id)
        if record.processed_at is not None:
            return record, False
        if event_processing_waits(record):
            return record, True
        services.queue_event(record)
    return record, True
