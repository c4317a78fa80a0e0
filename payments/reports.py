"""Revenue figures for Finance: gross, refunds and net per event and ticket type."""

from collections import defaultdict

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from payments.models import Order, OrderLineItem, Payment, Refund

SETTLED = [Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED]


def overdue_invoice_filter():
    """Invoice orders still unpaid after their due date (Finance's "overdue" list)."""
    return {
        "status": Order.Status.PENDING,
        "payment_method": Order.Method.INVOICE,
        "invoice_due_date__lt": timezone.localdate(),
    }


def filtered_orders(params):
    """Orders matching the list's search box and filters (shared by the page and the CSV)."""
    orders = Order.objects.select_related("event", "purchaser", "discount_code")
    query = (params.get("q") or "").strip()
    if query:
        orders = orders.filter(
            Q(email__icontains=query)
            | Q(purchaser__legal_name__icontains=query)
            | Q(billing_name__icontains=query)
            | Q(po_number__icontains=query)
            | Q(public_id__istartswith=query.lower())
            | Q(stripe_checkout_session_id=query)
            | Q(stripe_payment_intent_id=query)
        )
    if params.get("status"):
        orders = orders.filter(status=params["status"])
    if params.get("method"):
        orders = orders.filter(payment_method=params["method"])
    if params.get("event"):
        orders = orders.filter(event_id=params["event"])
    if params.get("attention"):
        orders = orders.filter(needs_attention=True)
    if params.get("overdue"):
        orders = orders.filter(**overdue_invoice_filter())
    return orders.annotate(
        paid=Sum("payments__amount", filter=Q(payments__status=Payment.Status.SUCCEEDED))
    ).order_by("-created_at")


def revenue_by_event():
    """One row per event and currency: gross paid, refunded, net, and the ticket-type split.

    Discounts and refunds are shared across an order's lines in proportion to each line's
    list price, so the ticket-type rows add up to the event's totals (to the cent, bar
    rounding of shares).
    """
    rows = {}
    orders = (
        Order.objects.filter(status__in=SETTLED)
        .select_related("event")
        .prefetch_related("line_items__ticket_type", "payments", "refunds")
    )
    for order in orders:
        paid = sum(p.amount for p in order.payments.all() if p.status == Payment.Status.SUCCEEDED)
        refunded = sum(r.amount for r in order.refunds.all() if r.status == Refund.Status.SUCCEEDED)
        key = (order.event_id, order.currency)
        row = rows.setdefault(
            key,
            {
                "event": order.event,
                "currency": order.currency,
                "orders": 0,
                "gross": 0,
                "refunds": 0,
                "by_ticket": defaultdict(lambda: {"seats": 0, "gross": 0, "refunds": 0}),
            },
        )
        row["orders"] += 1
        row["gross"] += paid
        row["refunds"] += refunded
        lines = [line for line in order.line_items.all() if line.amount > 0]
        list_total = sum(line.amount for line in lines) or 1
        for line in lines:
            if line.kind == OrderLineItem.Kind.TICKET:
                name = line.ticket_type.name if line.ticket_type else line.description
            else:
                name = _("Add-on: %(name)s") % {"name": line.description.split(": ", 1)[-1]}
            bucket = row["by_ticket"][name]
            if line.kind == OrderLineItem.Kind.TICKET:
                bucket["seats"] += line.quantity
            bucket["gross"] += paid * line.amount // list_total
            bucket["refunds"] += refunded * line.amount // list_total
    result = []
    for row in rows.values():
        row["net"] = row["gross"] - row["refunds"]
        row["by_ticket"] = [
            {"name": name, **values, "net": values["gross"] - values["refunds"]}
            for name, values in sorted(row["by_ticket"].items())
        ]
        result.append(row)
    result.sort(key=lambda r: (r["event"].starts_at is None, r["event"].starts_at), reverse=True)
    largest = max((max(r["gross"], 1) for r in result), default=1)
    for row in result:
        # Bar lengths for the chart, as a percentage of the biggest event's gross.
        row["gross_pct"] = round(100 * row["gross"] / largest, 1)
        row["net_pct"] = round(100 * max(row["net"], 0) / largest, 1)
    return result
