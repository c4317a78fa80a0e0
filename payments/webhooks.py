"""Stripe webhooks: verify, store once, answer at once; a Celery task does the work.

The stored event id is unique, so a repeated delivery (Stripe retries, or a storm of the same
event) changes nothing. The task (`payments.services.process_event`) never trusts the event's
copy of an object: each handler re-reads the session, charge or payment intent from Stripe
before acting, which also makes the order of arrival irrelevant.
"""

import json
import logging

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
        services.queue_event(record.pk)
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
        stale = record.received_at < timezone.now() - services.REQUEUE_AFTER
        return record, record.processed_at is None and stale
