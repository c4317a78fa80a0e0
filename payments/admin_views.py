"""Finance's screens in the Wagtail admin: orders, an order's timeline and actions, revenue."""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cms import exports
from cms.access import Perm, staff
from cms.money import format_money, to_major
from cms.untrusted_input import parse_id, refuse_nul_in
from courses.models import EventPage
from payments import reports, services
from payments.forms import MarkPaidForm, RefundForm
from payments.models import Order, Refund, WebhookEvent
from payments.timeline import order_timeline

UNMATCHED_EVENTS_SHOWN_FOR = timedelta(days=30)


@staff(Perm.VIEW_FINANCE)
def order_list(request):
    filters = _order_filters(request)
    orders = reports.filtered_orders(filters)
    page = Paginator(orders, 50).get_page(filters.get("page"))
    query = filters.copy()
    query.pop("page", None)
    return render(
        request,
        "payments/admin/order_list.html",
        {
            "page_title": _("Orders"),
            "header_icon": "list-ul",
            "orders": page,
            "filters": filters,
            "statuses": Order.Status.choices,
            "methods": [c for c in Order.Method.choices if c[0]],
            "events": EventPage.objects.filter(orders__isnull=False).distinct().order_by("title"),
            "query_string": query.urlencode(),
            "unmatched_stripe_events": unmatched_stripe_events(),
        },
    )


def _order_filters(request):
    """The list's filters from the query string: text the database accepts (a NUL is a 400),
    and an event filter only when it is an id (a hand-typed `event=abc` shows every event)."""
    filters = refuse_nul_in(request.GET).copy()
    if "event" in filters and parse_id(filters["event"]) is None:
        del filters["event"]
    return filters


def unmatched_stripe_events():
    """Stripe events of the last weeks that match no order here, newest first, for Finance."""
    since = timezone.now() - UNMATCHED_EVENTS_SHOWN_FOR
    return WebhookEvent.objects.filter(
        order__isnull=True,
        type__in=services.HANDLED_TYPES,
        processed_at__isnull=False,
        received_at__gte=since,
    )[:20]


@staff(Perm.VIEW_FINANCE)
def order_csv(request):
    response, writer = exports.csv_response("orders.csv")
    writer.writerow(
        [
            "Order",
            "Created (UTC)",
            "Event",
            "Purchaser",
            "Email",
            "Status",
            "Method",
            "Currency",
            "Total",
            "Paid",
            "Refunded",
            "Discount code",
            "PO number",
            "Needs attention",
        ]
    )
    for order in reports.filtered_orders(_order_filters(request)).prefetch_related("refunds"):
        refunded = sum(r.amount for r in order.refunds.all() if r.status == Refund.Status.SUCCEEDED)
        writer.writerow(
            [
                order.reference,
                order.created_at.strftime("%Y-%m-%d %H:%M"),
                order.event.title,
                order.purchaser.display_name,
                order.email,
                order.get_status_display(),
                order.get_payment_method_display(),
                order.currency,
                to_major(order.total, order.currency),
                to_major(order.paid or 0, order.currency),
                to_major(refunded, order.currency),
                order.discount_code.code if order.discount_code else "",
                order.po_number,
                "yes" if order.needs_attention else "",
            ]
        )
    return response


@staff(Perm.VIEW_FINANCE)
def order_detail(request, order_id):
    order = get_object_or_404(
        Order.objects.select_related("event", "purchaser", "booking"), public_id=order_id
    )
    policy_amount = services.policy_refund_for_order(order)
    refund_form = RefundForm(initial={"amount": str(to_major(policy_amount, order.currency))})
    return render(
        request,
        "payments/admin/order_detail.html",
        {
            "page_title": _("Order %(reference)s") % {"reference": order.reference},
            "header_icon": "doc-full",
            "order": order,
            "timeline": order_timeline(order),
            "refund_form": refund_form,
            "policy_amount": policy_amount,
            "mark_paid_form": MarkPaidForm(),
            "registrations": order.booking.registrations.select_related("ticket_type"),
            "documents": order.documents.all(),
        },
    )


@staff(Perm.REFUND_ORDER)
@require_POST
def order_refund(request, order_id):
    order = get_object_or_404(Order, public_id=order_id)
    form = RefundForm(request.POST)
    if not form.is_valid():
        if "confirm" in form.errors and "amount" not in form.errors:
            messages.error(request, _("Nothing was refunded: tick the box to confirm the refund."))
        else:
            messages.error(request, _("Enter the amount to refund, e.g. 25.00."))
        return redirect("payments_admin:order", order_id=order.public_id)
    try:
        refund = services.refund_order(
            order,
            form.amount_minor_units(order.currency),
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except services.PaymentError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Refund of %(amount)s: %(status)s.")
            % {
                "amount": format_money(refund.amount, refund.currency),
                "status": refund.get_status_display().lower(),
            },
        )
    return redirect("payments_admin:order", order_id=order.public_id)


@staff(Perm.REFUND_ORDER)
@require_POST
def order_mark_paid(request, order_id):
    order = get_object_or_404(Order, public_id=order_id)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the bank transfer or cheque reference."))
        return redirect("payments_admin:order", order_id=order.public_id)
    try:
        services.mark_invoice_paid(
            order, actor=request.user, reference=form.cleaned_data["reference"]
        )
    except services.PaymentError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The invoice is marked paid and a receipt was emailed."))
    return redirect("payments_admin:order", order_id=order.public_id)


@staff(Perm.REFUND_ORDER)
@require_POST
def order_resolve(request, order_id):
    order = get_object_or_404(Order, public_id=order_id)
    services.resolve_attention(order, actor=request.user, note=request.POST.get("note", ""))
    messages.success(request, _("The order no longer needs attention."))
    return redirect("payments_admin:order", order_id=order.public_id)


@staff(Perm.VIEW_FINANCE)
def revenue(request):
    rows = reports.revenue_by_event()
    if request.GET.get("format") == "csv":
        response, writer = exports.csv_response("revenue.csv")
        writer.writerow(["Event", "Ticket type", "Currency", "Seats", "Gross", "Refunds", "Net"])
        for row in rows:
            for ticket in row["by_ticket"]:
                writer.writerow(
                    [
                        row["event"].title,
                        ticket["name"],
                        row["currency"],
                        ticket["seats"],
                        to_major(ticket["gross"], row["currency"]),
                        to_major(ticket["refunds"], row["currency"]),
                        to_major(ticket["net"], row["currency"]),
                    ]
                )
            writer.writerow(
                [
                    row["event"].title,
                    "All",
                    row["currency"],
                    "",
                    to_major(row["gross"], row["currency"]),
                    to_major(row["refunds"], row["currency"]),
                    to_major(row["net"], row["currency"]),
                ]
            )
        return response
    return render(
        request,
        "payments/admin/revenue.html",
        {"page_title": _("Revenue"), "header_icon": "table", "rows": rows},
    )
