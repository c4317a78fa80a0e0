"""The payments app's public API: the one place that changes orders, payments, refunds and
documents. Views, webhooks, tasks, the admin and other apps call the names below.

Registrations change only through courses' public API (`confirm_registrations`,
`release_registrations`). Concurrency: every flow that moves an order's state first locks the
order row (`select_for_update` on PostgreSQL; on SQLite the project's IMMEDIATE transactions
serialise writers), then re-reads it, so the webhook, the return page and reconciliation can
race without confirming twice. One module per concern:

- `orders`: an order built from its booking, what may be paid and how, free orders, and
  flagging an order for Finance
- `pricing`: an unpaid order's lines and total derived from its booking (the one source of
  its price); a replaced Checkout Session expired at Stripe after the commit
- `discounts`: discount codes applied to a pending order
- `checkout`: Stripe Checkout, recording card payments, and what follows one that cannot
  simply confirm (wrong amount, paid twice, seats gone, failed bank debit, dispute)
- `stripe_events`: processing stored Stripe webhook events (`payments.webhooks` stores them)
- `policy`: the refund policy in words and the exact refund a cancellation gives now
- `refunds`: staff, cancellation-policy and Stripe-dashboard refunds; the order follows them
- `invoices`: paying by invoice, marking it paid, reminders and release when overdue
- `documents`: receipt and invoice numbering, PDFs and their emails
- `reconcile`: settling with Stripe what no webhook settled
- `common`, `stripe_objects`: the error, audit, lock, status change and email they share;
  reading Stripe's objects

Celery tasks are defined beside the service they run (`documents.send_receipt`,
`documents.send_invoice`, `invoices.process_overdue_invoices_task`,
`pricing.expire_checkout_session`, `reconcile.reconcile_stripe`,
`stripe_events.process_webhook_event`), registered under their historical `payments.tasks.*`
names so queued messages and beat keep working.
"""

from payments.stripe_client import card_payments_enabled

from .checkout import (
    expire_order,
    fail_async_payment,
    record_card_payment,
    record_dispute,
    refund_unavailable_seats,
    settle_checkout_session,
    start_card_checkout,
)
from .common import PaymentError, finance_emails, organisation_details
from .discounts import apply_discount_code
from .documents import (
    issue_document,
    queue_document_email,
    render_document_file,
    send_order_document,
)
from .invoices import choose_invoice_payment, mark_invoice_paid, process_overdue_invoices
from .orders import (
    confirm_free_order,
    ensure_payable,
    flag_order,
    order_for_booking,
    payment_options,
    resolve_attention,
)
from .policy import (
    CancellationQuote,
    RefundPolicy,
    cancellation_quote,
    policy_refund_for_order,
    refund_policy,
)
from .pricing import sync_order_with_booking
from .reconcile import reconcile_with_stripe
from .refunds import (
    cancellation_refund_amount,
    refund_cancelled_registration,
    refund_order,
    sync_refunds_from_charge,
)
from .stripe_events import (
    HANDLED_TYPES,
    REQUEUE_AFTER,
    process_event,
    process_stale_events,
    queue_event,
    report_unmatched_stripe_event,
    store_event,
)

__all__ = [
    # common
    "PaymentError",
    "card_payments_enabled",
    "finance_emails",
    "organisation_details",
    # orders
    "confirm_free_order",
    "ensure_payable",
    "flag_order",
    "order_for_booking",
    "payment_options",
    "resolve_attention",
    "sync_order_with_booking",
    # discounts
    "apply_discount_code",
    # checkout
    "expire_order",
    "fail_async_payment",
    "record_card_payment",
    "record_dispute",
    "refund_unavailable_seats",
    "settle_checkout_session",
    "start_card_checkout",
    # stripe events
    "HANDLED_TYPES",
    "REQUEUE_AFTER",
    "process_event",
    "process_stale_events",
    "queue_event",
    "store_event",
    "report_unmatched_stripe_event",
    # policy
    "CancellationQuote",
    "RefundPolicy",
    "cancellation_quote",
    "policy_refund_for_order",
    "refund_policy",
    # refunds
    "cancellation_refund_amount",
    "refund_cancelled_registration",
    "refund_order",
    "sync_refunds_from_charge",
    # invoices
    "choose_invoice_payment",
    "mark_invoice_paid",
    "process_overdue_invoices",
    # documents
    "issue_document",
    "queue_document_email",
    "render_document_file",
    "send_order_document",
    # reconciliation
    "reconcile_with_stripe",
]
