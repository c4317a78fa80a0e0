"""Discount codes: checked and applied to a pending order, the amount computed here."""

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms.locking import lock_one, locked
from payments.models import DiscountCode, Order

from .common import PaymentError, record
from .pricing import reprice


def apply_discount_code(order, code, *, actor=None, now=None):
    """Apply a discount code to a pending order; the amount is computed here, never trusted
    from the browser. Raises PaymentError with the reason a code cannot be used.

    The order and the code's row are locked only while the decision is written: a Checkout
    Session opened for the old total is expired at Stripe after the commit, so a slow Stripe
    never holds up other buyers using the same code.
    """
    now = now or timezone.now()
    code = (code or "").strip()
    if not code:
        raise PaymentError(_("Enter a discount code, or continue without one."))
    with transaction.atomic():
        order = lock_one(Order, order.pk)
        if order.status != Order.Status.PENDING or order.payment_method == Order.Method.INVOICE:
            raise PaymentError(_("A discount can only be added before you pay."))
        discount = next(iter(locked(DiscountCode.objects.filter(code__iexact=code))), None)
        if discount is None or not discount.active:
            raise PaymentError(
                _(
                    "“%(code)s” is not a valid discount code. Check the spelling, or continue "
                    "without a code."
                )
                % {"code": code}
            )
        _check_usable(discount, order, now)
        before = {"total": order.total, "discount_code": str(order.discount_code or "")}
        reprice(order, discount=discount, actor=actor, note="Discount applied")
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
            % {**named, "date": date_format(discount.valid_from, "j F Y")}
        )
    if discount.valid_until and now >= discount.valid_until:
        raise PaymentError(
            _("The code %(code)s expired on %(date)s.")
            % {**named, "date": date_format(discount.valid_until, "j F Y")}
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
