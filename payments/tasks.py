"""Celery's autodiscovery imports this module; each task is defined beside the service it runs
and keeps its historical `payments.tasks.*` name."""

from .services.documents import send_invoice, send_receipt
from .services.invoices import process_overdue_invoices_task
from .services.membership_documents import (
    send_membership_invoice,
    send_membership_receipt,
    send_membership_reminders_task,
)
from .services.reconcile import reconcile_stripe
from .services.stripe_events import process_webhook_event

__all__ = [
    "process_overdue_invoices_task",
    "process_webhook_event",
    "reconcile_stripe",
    "send_membership_invoice",
    "send_membership_receipt",
    "send_membership_reminders_task",
    "send_invoice",
    "send_receipt",
]
