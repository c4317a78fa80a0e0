"""Stripe webhooks: verify, store once, answer 200; processing is promised durably.

The event is stored (committed) before the endpoint promises to process it
(`services.queue_event`, a `cms.outbox` row): a broker outage delays processing, it never
answers 500 or loses the event. The outbox hands the promise to Celery once written and its
sweep retries; the periodic `process_stale_events` is the last safety net, also for an event
stored by a process that died before writing the promise. The stored event id is unique, so
a repeated delivery stores nothing new. A redelivered event that was stored but never
processed is promised again (unless a promise is still waiting) and answered as new, never
"duplicate".

The task (`payments.services.process_event`) never trusts the event's copy of an object: each
handler re-reads the session, charge or payment intent from Stripe before acting, which also
makes the order of arrival irrelevant, and processing an event twice changes nothing.
"""

import json
import logging

import stripe
from django.db import transaction
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
    _, pending = store_event(event_id, event_type, event)
    return JsonResponse({"received": True, "duplicate": not pending})


def store_event(event_id, event_type, payload):
    """Store the event once and promise to process it.

    Returns (the stored event's pk, pending): `pending` is False only for an event already
    processed (a true duplicate). An unprocessed event is promised again unless an earlier
    promise still waits.

    A first delivery is one statement on PostgreSQL, with no transaction of its own: the
    INSERT that skips a known event id (`ON CONFLICT DO NOTHING`) and the promise (a
    `cms.outbox` row, handed to the worker once committed) written together
    (`services.store_new_event`). The endpoint's cost is its round trips and commits; a
    BEGIN, a COMMIT and a savepoint would be three more. On SQLite they are two statements;
    should the process die between them, the stored event is still unprocessed and
    reconciliation (`process_stale_events`) processes it: storing it is what must not be
    lost. A repeated delivery stores nothing and is handled in a transaction of its own; one
    that arrives before the promise is written makes its own (processing twice changes
    nothing).
    """
    event_pk = services.store_new_event(event_id, event_type, payload)
    if event_pk is not None:
        return event_pk, True
    with transaction.atomic():
        WebhookEvent.objects.filter(stripe_event_id=event_id).update(deliveries=F("deliveries") + 1)
        record = WebhookEvent.objects.get(stripe_event_id=event_id)
        if record.processed_at is not None:
            return record.pk, False
        if event_processing_waits(record):
            return record.pk, True
        services.queue_event(record)
    return record.pk, True
