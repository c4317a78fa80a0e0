"""Stripe webhooks: verify, store once, answer 200; processing is promised durably.

The event and the promise to process it (a `cms.outbox` row) are committed before the
endpoint answers (`services.store_event`): a broker outage delays processing, it never
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
from django.http import HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cms.access import signed_webhook
from payments import services
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
    _, pending = services.store_event(event_id, event_type, event)
    return JsonResponse({"received": True, "duplicate": not pending})
