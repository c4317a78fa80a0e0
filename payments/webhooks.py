"""Stripe webhooks: verify, store once, answer at once; a Celery task does the work.

The stored event id is unique, so a repeated delivery (Stripe retries, or a storm of the same
event) changes nothing. The task never trusts the event's copy of an object: each handler
re-reads the session, charge or payment intent from Stripe before acting, which also makes
the order of arrival irrelevant.
"""

import json
import logging
from datetime import timedelta

import stripe
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cms.access import signed_webhook
from payments import services
from payments.models import WebhookEvent
from payments.stripe_client import verify_event

log = logging.getLogger(__name__)

# Stripe retries a failed delivery after minutes to hours; an unprocessed event older than
# this is queued again when it is redelivered (a crashed worker must not lose it).
REQUEUE_AFTER = timedelta(minutes=5)

HANDLED_TYPES = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "charge.dispute.created",
}


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
    record, queue = store_event(event_id, event_type, event)
    if queue:
        from payments.tasks import process_webhook_event

        transaction.on_commit(lambda: process_webhook_event.delay(record.pk))
    return JsonResponse({"received": True, "duplicate": not queue})


def store_event(event_id, event_type, payload):
    """Insert the event once; returns (record, whether it should be processed now)."""
    try:
        with transaction.atomic():
            return WebhookEvent.objects.create(
                stripe_event_id=event_id, type=event_type, payload=payload
            ), True
    except IntegrityError:
        WebhookEvent.objects.filter(stripe_event_id=event_id).update(deliveries=F("deliveries") + 1)
        record = WebhookEvent.objects.get(stripe_event_id=event_id)
        stale = record.received_at < timezone.now() - REQUEUE_AFTER
        return record, record.processed_at is None and stale


def process_event(event_pk):
    """Act on one stored event (the Celery task's body)."""
    record = WebhookEvent.objects.get(pk=event_pk)
    if record.processed_at:
        return record.outcome
    obj = _event_object(record.payload)
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else ""
    order = None
    unmatched = ""
    if record.type not in HANDLED_TYPES:
        outcome = "ignored: not an event this site handles"
    elif not object_id:
        unmatched = f"Stripe sent a {record.type} event without the id of its object"
    elif record.type.startswith("checkout.session."):
        if record.type == "checkout.session.async_payment_failed":
            order = services.fail_async_payment(object_id)
        else:
            order = services.settle_checkout_session(object_id, source=f"webhook {record.type}")
        unmatched = f"Stripe sent an event for a Checkout Session we do not know: {object_id}"
    elif record.type == "charge.refunded":
        order = services.sync_refunds_from_charge(object_id)
        unmatched = f"Stripe sent an event for a charge we do not know: {object_id}"
    else:
        order = services.record_dispute(obj)
        unmatched = f"Stripe sent a dispute for a payment we do not know: {object_id}"
    if order is not None:
        disputed = record.type == "charge.dispute.created"
        outcome = "order flagged: dispute" if disputed else f"order {order.status}"
    elif unmatched:
        outcome = unmatched
        log.warning("Stripe event %s (%s) matches no order", record.stripe_event_id, record.type)
    processed = WebhookEvent.objects.filter(pk=record.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), outcome=outcome[:255], order=order
    )
    if processed and order is None and unmatched:
        # Answered 200 all the same: a 5xx would make Stripe retry it for days.
        services.report_unmatched_stripe_event(record, outcome[:255])
    return outcome


def _event_object(payload):
    """The event's `data.object`, or {} when a (signed) payload does not have one."""
    data = payload.get("data") if isinstance(payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def process_stale_events(*, older_than=REQUEUE_AFTER):
    """Process events stored but never processed (a worker died): reconciliation's safety net."""
    cutoff = timezone.now() - older_than
    stale = WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
    count = 0
    for pk in stale.values_list("pk", flat=True):
        try:
            process_event(pk)
            count += 1
        except stripe.StripeError as error:
            log.warning("Stale webhook event %s still fails: %s", pk, error)
    return count
