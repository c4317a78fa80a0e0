"""Pricing has one source: while an order is unpaid, its lines, subtotal, discount and total
are derived from its booking (courses' `booking_line_items`), here and nowhere else.

`sync_order_with_booking` re-derives them: `order_for_booking` calls it every time the order
is asked for, and the receiver of courses' `booking_changed` signal calls it inside the
transaction that changed the booking. When the total changes, a Checkout Session opened for
the old total is forgotten on the order and expired at Stripe after the commit, never while
the order row is locked, so the buyer's next "Pay" opens a session for the new total.

An order stops following its booking once it is paid (or has any successful payment), once
it is invoiced (the invoice was issued for its amount), or once the booking is no longer held
(an expired or cancelled booking keeps the order's last lines for Finance's history).
"""

import logging

import stripe
from celery import shared_task
from django.db import transaction
from django.utils.translation import gettext as _

from cms.locking import lock_one
from cms.outbox import enqueue
from courses import services as courses
from courses.models import BookingStatus
from payments.models import DiscountCode, Order, OrderLineItem, Payment
from payments.stripe_client import card_payments_enabled, get_client

from .common import PaymentError, record

log = logging.getLogger(__name__)


def sync_order_with_booking(order, *, actor=None, nowait=False):
    """Bring an unpaid order's lines and total in line with its booking; return the order.

    Reads first and takes the order's row lock only when something changed, so showing the
    payment page does not write. `nowait=True` (the signal receiver, which runs with the
    booking already locked) raises `cms.locking.Busy` at once if a payment holds the order,
    instead of waiting on it in the opposite lock order.
    """
    if not follows_booking(order) or not _differs(order, _priced(order)):
        return order
    with transaction.atomic():
        order = lock_one(Order, order.pk, nowait=nowait)
        if follows_booking(order):
            reprice(order, actor=actor, note="The booking changed")
    return order


def follows_booking(order):
    """True while the order's price is still derived from its booking."""
    return (
        order.status == Order.Status.PENDING
        and order.payment_method != Order.Method.INVOICE
        and order.booking.status == BookingStatus.HELD
        and not order.payments.filter(status=Payment.Status.SUCCEEDED).exists()
    )


def reprice(order, *, discount=None, actor=None, note="", audit=True):
    """Rewrite the (locked) order's lines and totals from its booking, with `discount` (or
    the discount it already carries). Returns True when anything changed.

    Raises PaymentError when a newly given `discount` applies to nothing in the order; a
    discount the order already carries that no longer applies is dropped instead.
    """
    priced = _priced(order, discount=discount)
    if not _differs(order, priced):
        return False
    lines, discount, amount, subtotal = priced
    before = _summary(order)
    order.line_items.all().delete()
    OrderLineItem.objects.bulk_create(OrderLineItem(order=order, **line) for line in lines)
    total_changed = order.total != subtotal - amount
    order.subtotal = subtotal
    order.discount_code = discount
    order.discount_amount = amount
    order.total = subtotal - amount
    if total_changed:
        forget_open_checkout(order)
    order.save(
        update_fields=[
            "subtotal",
            "discount_code",
            "discount_amount",
            "total",
            "stripe_checkout_session_id",
            "updated_at",
        ]
    )
    if audit:
        record(
            "order.repriced", order, actor=actor, before=before, after=_summary(order), note=note
        )
    return True


def discount_amount(discount, lines):
    """What `discount` takes off `lines` (dicts, discounts excluded), in minor units."""
    if discount.ticket_type_id:
        eligible = sum(
            line["quantity"] * line["unit_amount"]
            for line in lines
            if line["ticket_type_id"] == discount.ticket_type_id
        )
        if not eligible:
            raise PaymentError(
                _(
                    "The code %(code)s applies only to %(ticket_type)s tickets, and this "
                    "order has none."
                )
                % {"code": discount.code, "ticket_type": discount.ticket_type}
            )
    else:
        eligible = sum(line["quantity"] * line["unit_amount"] for line in lines)
    if discount.kind == DiscountCode.Kind.PERCENT:
        return eligible * discount.percent_off // 100
    return min(discount.amount_off, eligible)


def forget_open_checkout(order):
    """The order's total changed: its Checkout Session must not be paid. Forget it on the
    order (the caller saves `stripe_checkout_session_id`) and expire it at Stripe after the
    commit."""
    session_id = order.stripe_checkout_session_id
    if not session_id:
        return
    order.stripe_checkout_session_id = ""
    expire_session_after_commit(session_id)


def expire_session_after_commit(session_id):
    """Promise, in the current transaction, to expire `session_id` at Stripe once it commits
    (`cms.outbox`: retried until done; at once outside a transaction)."""
    if card_payments_enabled():
        enqueue(expire_checkout_session, session_id, key=f"payments:expire-session:{session_id}")


@shared_task(
    name="payments.tasks.expire_checkout_session",
    # Stripe unreachable or failing: try again later (the outbox also retries a failed run).
    autoretry_for=(stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError),
    retry_backoff=True,
    max_retries=8,
)
def expire_checkout_session(session_id):
    """Expire a Checkout Session the order no longer uses. Never called under a lock; safe
    to run twice."""
    try:
        get_client().v1.checkout.sessions.expire(session_id)
    except stripe.InvalidRequestError as error:
        # Already expired or complete: a completed one is settled (and flagged when its
        # amount is not the order's) by the webhook or reconciliation.
        log.info("Session %s was not expired: %s", session_id, error)


def _base_lines(order):
    """The order's lines before any discount: from the booking while it is held (or when the
    order is new), else the lines the order already has."""
    if order.booking.status != BookingStatus.HELD:
        kept = [
            line for line in _stored_lines(order) if line["kind"] != OrderLineItem.Kind.DISCOUNT
        ]
        if kept:
            return kept
    lines = []
    for item in courses.booking_line_items(order.booking):
        kind = item.get("kind", OrderLineItem.Kind.TICKET)
        ticket_type_id = None
        if kind == OrderLineItem.Kind.TICKET:
            ticket_type_id = item.get("ticket_type_id") or _int_or_none(item.get("ref"))
        lines.append(
            {
                "kind": kind,
                "description": str(item["description"])[:255],
                "quantity": item.get("quantity", 1),
                "unit_amount": item["unit_amount"],
                "ref": str(item.get("ref", ""))[:100],
                "ticket_type_id": ticket_type_id,
            }
        )
    return lines


def _discount_line(discount, amount):
    return {
        "kind": OrderLineItem.Kind.DISCOUNT,
        "description": _("Discount %(code)s (%(terms)s)")
        % {"code": discount.code, "terms": discount.describe()},
        "quantity": 1,
        "unit_amount": -amount,
        "ref": discount.code,
        "ticket_type_id": None,
    }


def _stored_lines(order):
    return [
        {
            "kind": line.kind,
            "description": line.description,
            "quantity": line.quantity,
            "unit_amount": line.unit_amount,
            "ref": line.ref,
            "ticket_type_id": line.ticket_type_id,
        }
        for line in order.line_items.order_by("pk")
    ]


def _line_keys(lines):
    """Lines compared by what they charge (a discount line's wording is left out: it is
    translated into the language of whoever applied it)."""
    return sorted(
        (
            line["kind"],
            "" if line["kind"] == OrderLineItem.Kind.DISCOUNT else line["description"],
            line["quantity"],
            line["unit_amount"],
            line["ref"],
            line["ticket_type_id"] or 0,
        )
        for line in lines
    )


def _priced(order, *, discount=None):
    """(lines, discount, discount amount, subtotal) as the booking prices the order now, with
    `discount` newly applied (PaymentError if it applies to nothing) or the order's own
    discount (dropped if it no longer applies to anything)."""
    lines = _base_lines(order)
    subtotal = sum(line["quantity"] * line["unit_amount"] for line in lines)
    new_discount = discount is not None
    discount = discount or order.discount_code
    amount = 0
    if discount is not None:
        try:
            amount = discount_amount(discount, lines)
        except PaymentError:
            if new_discount:
                raise
            discount = None
    if discount is not None:
        lines.append(_discount_line(discount, amount))
    return lines, discount, amount, subtotal


def _differs(order, priced):
    """True when the stored order is not what `_priced` gave."""
    lines, discount, amount, subtotal = priced
    stored = (order.subtotal, order.discount_code_id, order.discount_amount, order.total)
    return _line_keys(lines) != _line_keys(_stored_lines(order)) or stored != (
        subtotal,
        discount.pk if discount else None,
        amount,
        subtotal - amount,
    )


def _summary(order):
    return {
        "subtotal": order.subtotal,
        "discount": order.discount_amount,
        "total": order.total,
        "lines": [
            f"{line['quantity']} x {line['unit_amount']} {line['description']}"
            for line in _stored_lines(order)
        ],
    }


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
