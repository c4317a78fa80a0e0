"""Discount codes: checked and applied to a pending order, the amount computed here."""

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from payments.models import DiscountCode, Order, OrderLineItem

from .common import PaymentError, locked, record
from .orders import forget_open_checkout


def apply_discount_code(order, code, *, actor=None, now=None):
    """Apply a discount code to a pending order; the amount is computed here, never trusted
    from the browser. Raises PaymentError with the reason a code cannot be used."""
    now = now or timezone.now()
    code = (code or "").strip()
    if not code:
        raise PaymentError(_("Enter a discount code, or continue without one."))
    with transaction.atomic():
        order = locked(order)
        if order.status != Order.Status.PENDING or order.payment_method == Order.Method.INVOICE:
            raise PaymentError(_("A discount can only be added before you pay."))
        discount = DiscountCode.objects.select_for_update().filter(code__iexact=code).first()
        if discount is None or not discount.active:
            raise PaymentError(
                _(
                    "“%(code)s” is not a valid discount code. Check the spelling, or continue "
                    "without a code."
                )
                % {"code": code}
            )
        _check_usable(discount, order, now)
        amount = _discount_amount(discount, order)
        forget_open_checkout(order)
        order.line_items.filter(kind=OrderLineItem.Kind.DISCOUNT).delete()
        OrderLineItem.objects.create(
            order=order,
            kind=OrderLineItem.Kind.DISCOUNT,
            description=_("Discount %(code)s (%(terms)s)")
            % {"code": discount.code, "terms": discount.describe()},
            quantity=1,
            unit_amount=-amount,
            ref=discount.code,
        )
        before = {"total": order.total, "discount_code": str(order.discount_code or "")}
        order.discount_code = discount
        order.discount_amount = amount
        order.total = order.subtotal - amount
        order.save(
            update_fields=[
                "discount_code",
                "discount_amount",
                "total",
                "stripe_checkout_session_id",
                "updated_at",
            ]
        )
        record(
            "order.discount_applied",
            order,
            actor=actor,
            before=before,
            after={"total": order.total, "discount_code": discount.code},
        )
    return order


def _check_usable(discount, order, now):
    """Raise PaymentError saying why this (active) code cannot be used for this order now."""
    named = {"code": discount.code}
    if discount.valid_from and now < discount.valid_from:
        raise PaymentError(
            _(
                "The code %(code)s can be used from %(date)s. Continue without it, or come "
                "back then."
            )
            % {**named, "date": date_format(discount.valid_from, "F j, Y")}
        )
    if discount.valid_until and now >= discount.valid_until:
        raise PaymentError(
            _("The code %(code)s expired on %(date)s.")
            % {**named, "date": date_format(discount.valid_until, "F j, Y")}
        )
    if discount.event_id and discount.event_id != order.event_id:
        raise PaymentError(_("The code %(code)s is not valid for this event.") % named)
    if discount.kind == DiscountCode.Kind.FIXED and discount.currency != order.currency:
        raise PaymentError(_("The code %(code)s cannot be used for this currency.") % named)
    if discount.max_uses is not None:
        used = (
            discount.orders.exclude(pk=order.pk)
            .exclude(status__in=[Order.Status.EXPIRED, Order.Status.CANCELLED])
            .count()
        )
        if used >= discount.max_uses:
            raise PaymentError(_("The code %(code)s has been used up.") % named)


def _discount_amount(discount, order):
    """What the code takes off the order's (eligible) lines, in minor units."""
    lines = list(order.line_items.exclude(kind=OrderLineItem.Kind.DISCOUNT))
    if discount.ticket_type_id:
        eligible = sum(
            line.amount for line in lines if line.ticket_type_id == discount.ticket_type_id
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
        eligible = sum(line.amount for line in lines)
    if discount.kind == DiscountCode.Kind.PERCENT:
        return eligible * discount.percent_off // 100
    return min(discount.amount_off, eligible)
