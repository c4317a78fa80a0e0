"""Celery tasks: each a thin call into payments.services or payments.webhooks."""

import stripe
from celery import shared_task

from payments import services, webhooks


@shared_task(
    autoretry_for=(stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError),
    retry_backoff=True,
    max_retries=8,
)
def process_webhook_event(event_pk):
    """Process one stored Stripe event; reconciliation catches anything retries cannot."""
    return webhooks.process_event(event_pk)


@shared_task
def reconcile_stripe():
    """Settle checkouts that finished at Stripe without a processed webhook."""
    result = services.reconcile_with_stripe()
    result["stale_events"] = webhooks.process_stale_events()
    return result


@shared_task
def process_overdue_invoices():
    """Remind, then release the seats of unpaid invoices past their due date."""
    return services.process_overdue_invoices()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_receipt(order_pk):
    """Number, render and email the receipt of a paid order."""
    services.send_receipt(order_pk)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invoice(order_pk):
    """Number, render and email the invoice of an order paid by invoice."""
    services.send_invoice(order_pk)
