"""Acting on stored Stripe webhook events: each handler re-reads the session, charge or
payment intent from Stripe before acting, which also makes the order of arrival irrelevant,
and each is idempotent, so processing an event twice changes nothing.

`payments.webhooks` verifies and stores them and, once stored, promises to process them
through the outbox (`queue_event`); the outbox dispatches the task once the promise is
committed and its sweep retries while the broker is down; Celery retries Stripe's transient
errors; `process_stale_events` (reconciliation, every ten minutes) processes whatever is
still unprocessed, including an event whose promise was never written. A failed try is
counted on the event with its error."""

import logging
from datetime import timedelta

import stripe
from celery import shared_task
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.locking import Busy
from cms.models import OutboxMessage, OutboxStatus
from cms.outbox import enqueue, insert_and_enqueue
from payments.models import WebhookEvent

from . import membership
from .checkout import fail_async_payment, record_dispute, settle_checkout_session
from .common import finance_emails, record, send_payments_email
from .refunds import sync_refunds_from_charge

log = logging.getLogger(__name__)

# Reconciliation processes an event still unprocessed this long after it arrived (the outbox
# and Celery's retries had their chance; a crashed worker must not lose it).
REQUEUE_AFTER = timedelta(minutes=5)

HANDLED_TYPES = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "charge.dispute.created",
    # Membership by subscription (payments.services.membership).
    "invoice.paid",
    "invoice.payment_failed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
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
    elif _is_membership_event(stored.type, obj):
        outcome, unmatched = _process_membership_event(stored.type, object_id)
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


def _is_membership_event(event_type, obj):
    if event_type.startswith("checkout.session."):
        return obj.get("mode") == "subscription"
    return event_type.startswith(("invoice.", "customer.subscription."))


def _process_membership_event(event_type, object_id):
    """(outcome, unmatched reason) of a membership subscription's event."""
    if event_type == "checkout.session.completed":
        found = membership.settle_membership_checkout(object_id)
    elif event_type.startswith("checkout.session."):
        found = membership.abandon_membership_checkout(object_id)
    elif event_type.startswith("invoice."):
        found = membership.settle_membership_invoice(object_id)
    else:
        found = membership.sync_member_subscription(object_id)
    if found is None:
        return "", _("Stripe sent a %(type)s event for a subscription we do not know: %(id)s") % {
            "type": event_type,
            "id": object_id,
        }
    return f"membership: {found}"[:255], ""


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
    """Process events stored but never processed (a worker died, every retry failed):
    reconciliation's safety net. One event's failure never stops the others."""
    cutoff = timezone.now() - older_than
    stale = WebhookEvent.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
    count = 0
    for pk in stale.order_by("received_at").values_list("pk", flat=True):
        try:
            process_event(pk)
        except Exception as error:
            # Counted on the event and logged; the next pass tries again.
            note_failure(pk, error)
            log.warning("Stale webhook event %s still fails: %s", pk, error)
            continue
        count += 1
    return count


def note_failure(event_pk, error):
    """Count a failed processing try on the event, with its error, for Finance and operators."""
    WebhookEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(
        failures=F("failures") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
    )


@shared_task(
    name="payments.tasks.process_webhook_event",
    autoretry_for=(stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError, Busy),
    retry_backoff=True,
    max_retries=8,
)
def process_webhook_event(event_pk):
    """Process one stored Stripe event; the outbox, Celery's retries and reconciliation see
    that it happens once it can."""
    try:
        return process_event(event_pk)
    except Exception as error:
        note_failure(event_pk, error)
        raise


PROMISE_KEY_PREFIX = "payments:stripe-event:"


def _promise_key(event_pk):
    return f"{PROMISE_KEY_PREFIX}{event_pk}:"


def store_event(event_id, event_type, payload):
    """Store the event once and promise to process it.

    Returns (the stored event's pk, pending): `pending` is False only for an event already
    processed (a true duplicate). An unprocessed event is promised again unless an earlier
    promise still waits.

    A first delivery is one statement on PostgreSQL, with no transaction of its own: the
    INSERT that skips a known event id (`ON CONFLICT DO NOTHING`) and the promise (a
    `cms.outbox` row, handed to the worker once committed) written together
    (`_store_new_event`). The endpoint's cost is its round trips and commits; a
    BEGIN, a COMMIT and a savepoint would be three more. On SQLite they are two statements;
    should the process die between them, the stored event is still unprocessed and
    reconciliation (`process_stale_events`) processes it: storing it is what must not be
    lost. A repeated delivery stores nothing and is handled in a transaction of its own; one
    that arrives before the promise is written makes its own (processing twice changes
    nothing).
    """
    event_pk = _store_new_event(event_id, event_type, payload)
    if event_pk is not None:
        return event_pk, True
    with transaction.atomic():
        WebhookEvent.objects.filter(stripe_event_id=event_id).update(deliveries=F("deliveries") + 1)
        stored = WebhookEvent.objects.get(stripe_event_id=event_id)
        if stored.processed_at is not None:
            return stored.pk, False
        if event_processing_waits(stored):
            return stored.pk, True
        queue_event(stored)
    return stored.pk, True


def _store_new_event(event_id, event_type, payload):
    """Store an event not seen before and promise to process it: one statement on PostgreSQL
    (`cms.outbox.insert_and_enqueue`). The promise's key is that of the first delivery, as
    `queue_event` would make it. Returns the new event's pk, or None (nothing written) when
    an event with this id is stored already."""
    first_delivery = WebhookEvent._meta.get_field("deliveries").default
    return insert_and_enqueue(
        _new_event_insert(event_id, event_type, payload),
        process_webhook_event,
        key_prefix=PROMISE_KEY_PREFIX,
        key_suffix=f":{first_delivery}",
    )


def _new_event_insert(event_id, event_type, payload):
    """(sql, params): one INSERT of the event that returns its pk, or nothing when an event
    with this id is stored already.

    The row is the model's own (its defaults, each value prepared by its field), written
    without an IntegrityError to recover from (nothing listens for its `post_save`).
    """
    record = WebhookEvent(stripe_event_id=event_id, type=event_type, payload=payload)
    meta, quote = WebhookEvent._meta, connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    # Built from the model's own table and column names only; the values are parameters.
    statement = "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING RETURNING {}".format(  # noqa: S608
        quote(meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
        quote(meta.get_field("stripe_event_id").column),
        quote(meta.pk.column),
    )
    values = [
        field.get_db_prep_save(getattr(record, field.attname), connection) for field in fields
    ]
    return statement, values


def queue_event(event, *, just_stored=False):
    """Promise, in the caller's transaction, to process the stored event (an outbox row,
    dispatched after the commit). One promise per delivery of the event. `just_stored`: the
    event row was created in this transaction, so no promise can hold its key yet."""
    event = event if isinstance(event, WebhookEvent) else WebhookEvent.objects.get(pk=event)
    return enqueue(
        process_webhook_event,
        event.pk,
        key=f"{_promise_key(event.pk)}{event.deliveries}",
        new_key=just_stored,
    )


def event_processing_waits(event):
    """True while a promise to process the event is still waiting or being delivered."""
    return OutboxMessage.objects.filter(
        key__startswith=_promise_key(event.pk),
        status__in=[OutboxStatus.PENDING, OutboxStatus.IN_PROGRESS],
    ).exists()
