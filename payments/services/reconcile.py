"""Reconciliation with Stripe: settle what finished at Stripe without a processed webhook,
expire the sessions of lapsed holds, and process stored events whose task never ran."""

import logging
from datetime import timedelta

import stripe
from celery import shared_task
from django.utils import timezone

from payments.models import Order
from payments.stripe_client import card_payments_enabled, get_client

from .checkout import settle_checkout_session
from .stripe_events import process_stale_events

log = logging.getLogger(__name__)


def reconcile_with_stripe(*, now=None, stale_after=timedelta(minutes=10)):
    """Settle orders whose Checkout Session finished at Stripe without a processed webhook,
    and expire the sessions of orders whose seat hold has ended."""
    if not card_payments_enabled():
        return {"checked": 0, "settled": 0, "expired": 0}
    now = now or timezone.now()
    checked = settled = expired = 0
    candidates = Order.objects.filter(
        status=Order.Status.PENDING, payment_method=Order.Method.CARD
    ).exclude(stripe_checkout_session_id="")
    client = get_client()
    for order in candidates.select_related("booking"):
        if order.updated_at > now - stale_after and not order.booking.hold_has_expired(now):
            continue
        checked += 1
        try:
            session = client.v1.checkout.sessions.retrieve(order.stripe_checkout_session_id)
        except stripe.StripeError as error:
            log.warning(
                "Reconciliation could not read %s: %s", order.stripe_checkout_session_id, error
            )
            continue
        if session.status == "open" and order.booking.hold_has_expired(now):
            try:
                client.v1.checkout.sessions.expire(session.id)
            except stripe.StripeError:
                continue  # Paid in the meantime: the next pass settles it.
            session = client.v1.checkout.sessions.retrieve(session.id)
        if session.status == "complete" and session.payment_status == "paid":
            settle_checkout_session(session.id, source="reconciliation")
            settled += 1
        elif session.status == "expired":
            # The attempt is marked expired too, and the order when it is its current session.
            settle_checkout_session(session.id, source="reconciliation")
            expired += 1
    return {"checked": checked, "settled": settled, "expired": expired}


@shared_task(name="payments.tasks.reconcile_stripe")
def reconcile_stripe():
    """Every ten minutes (beat): settle checkouts that finished at Stripe without a processed
    webhook, and process stored events whose task never ran."""
    result = reconcile_with_stripe()
    result["stale_events"] = process_stale_events()
    return result
