"""Acting on stored Stripe webhook events: each handler re-reads the session, charge or
payment intent from Stripe before acting, which also makes the order of arrival irrelevant.
(`payments.webhooks` verifies and stores them; the task here processes them.)"""

import logging
from datetime import timedelta

import stripe
from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.models import WebhookEvent

from .checkout import fail_async_payment, record_dispute, settle_checkout_session
from .common import finance_emails, record, send_payments_email
from .refunds import sync_refunds_from_charge

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


def process_event(event_pk):
    """Act on one stored event (the Celery task's body)."""
    stored = WebhookEvent.objects.get(pk=event_pk)
    if stored.processed_at:
        return stored.outcome
    obj = _event_object(stored.payload)
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else ""
    order = None
    unmatched = ""
    if stored.type not in HANDLED_TYPES:
        outcome = "ignored: not an event this site handles"
    elif not object_id:
        unmatched = _("Stripe sent a %(type)s event without the id of its object") % {
            "type": stored.type
        }
    elif stored.type.startswith("checkout.session."):
        if stored.type == "checkout.session.async_payment_failed":
            order = fail_async_payment(object_id)
        else:
            order = settle_checkout_session(object_id, source=f"webhook {stored.type}")
        unmatched = _("Stripe sent an event for a Checkout Session we do not know: %(id)s") % {
            "id": object_id
        }
    elif stored.type == "charge.refunded":
        order = sync_refunds_from_charge(object_id)
        unmatched = _("Stripe sent an event for a charge we do not know: %(id)s") % {
            "id": object_id
        }
    else:
        order = record_dispute(obj)
        unmatched = _("Stripe sent a dispute for a payment we do not know: %(id)s") % {
            "id": object_id
        }
    if order is not None:
        disputed = stored.type == "charge.dispute.created"
        outcome = "order flagged: dispute" if disputed else f"order {order.status}"
    elif unmatched:
        outcome = unmatched
        log.warning("Stripe event %s (%s) matches no order", stored.stripe_event_id, stored.type)
    processed = WebhookEvent.objects.filter(pk=stored.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), outcome=outcome[:255], order=order
    )
    if processed and order is None and unmatched:
        # Answered 200 all the same: a 5xx would make Stripe retry it for days.
        report_unmatched_stripe_event(stored, outcome[:255])
    return outcome


def _event_object(payload):
    """The event's `data.object`, or {} when a (signed) payload does not have one."""
    data = payload.get("data") if isinstance(payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def report_unmatched_stripe_event(event, reason):
    """A signed Stripe event that matches no order here: on its record, in the audit log, and
    in Finance's inbox (the Orders screen lists such events too). Nothing else changes."""
    record("webhook.unmatched", event, note=reason)
    send_payments_email(
        "payments/email/staff_unmatched_stripe_event",
        finance_emails(),
        {"event": event, "reason": reason},
    )


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


@shared_task(
    name="payments.tasks.process_webhook_event",
    autoretry_for=(stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError),
    retry_backoff=True,
    max_retries=8,
)
def process_webhook_event(event_pk):
    """Process one stored Stripe event; reconciliation catches anything retries cannot."""
    return process_event(event_pk)


def queue_event(event_pk):
    """Process the stored event in a task once the transaction that stored it commits."""
    transaction.on_commit(lambda: process_webhook_event.delay(event_pk))
