"""Orders: built from a booking, what may be paid and how, free orders, and putting an order
in front of Finance when something needs a person."""

import logging

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses import services as courses
from courses.models import ApprovalStatus, BookingStatus
from payments.models import EventPaymentSettings, Order, OrderLineItem
from payments.stripe_client import card_payments_enabled, get_client

from .common import PaymentError, change_status, finance_emails, locked, record, send_payments_email

log = logging.getLogger(__name__)


def order_for_booking(booking, *, actor=None):
    """The booking's order, built from its line items the first time it is asked for."""
    existing = Order.objects.filter(booking=booking).first()
    if existing:
        return existing
    items = courses.booking_line_items(booking)
    subtotal, currency = courses.booking_total(booking)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                booking=booking,
                event=booking.event,
                purchaser=booking.purchaser,
                email=booking.purchaser.email,
                currency=currency.upper(),
                subtotal=subtotal,
                total=subtotal,
            )
            for item in items:
                ticket_type_id = None
                if item.get("kind") == OrderLineItem.Kind.TICKET:
                    ticket_type_id = item.get("ticket_type_id") or _int_or_none(item.get("ref"))
                OrderLineItem.objects.create(
                    order=order,
                    kind=item.get("kind", OrderLineItem.Kind.TICKET),
                    description=str(item["description"])[:255],
                    quantity=item.get("quantity", 1),
                    unit_amount=item["unit_amount"],
                    ref=str(item.get("ref", ""))[:100],
                    ticket_type_id=ticket_type_id,
                )
            record(
                "order.created",
                order,
                actor=actor,
                after={"total": order.total, "currency": order.currency},
            )
    except IntegrityError:
        # Another request created it first (double click, return page racing the webhook).
        return Order.objects.get(booking=booking)
    return order


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def payment_options(order):
    """Which ways to pay this order are offered: card only with a Stripe key; invoice when
    staff enabled it for the event, or as the only way when card payment is unavailable."""
    card = card_payments_enabled()
    invoice_enabled = EventPaymentSettings.for_event(order.event).invoice_payment_enabled
    return {"card": card, "invoice": invoice_enabled or not card}


def ensure_payable(order):
    """Refuse to take money for an order whose seats are no longer held for it."""
    booking = order.booking
    if order.status != Order.Status.PENDING:
        raise PaymentError(_("This order is no longer awaiting payment."))
    if booking.hold_has_expired() or booking.status not in (
        BookingStatus.HELD,
        BookingStatus.CONFIRMED,
    ):
        raise PaymentError(
            _("Your seat hold has expired, so nothing was charged. Please register again.")
        )
    if booking.approval_status in (ApprovalStatus.PENDING, ApprovalStatus.REJECTED):
        raise PaymentError(
            _("This booking is waiting for staff approval; we will email you when you can pay.")
        )


def forget_open_checkout(order):
    """A total changed: the old Checkout Session must not be paid, so expire it at Stripe."""
    if not order.stripe_checkout_session_id:
        return
    if card_payments_enabled():
        try:
            get_client().v1.checkout.sessions.expire(order.stripe_checkout_session_id)
        except stripe.StripeError as error:
            # Already complete or expired: reconciliation settles a completed one.
            log.info("Could not expire session %s: %s", order.stripe_checkout_session_id, error)
    order.stripe_checkout_session_id = ""


def confirm_free_order(order, *, actor=None):
    """An order that costs nothing confirms at once, without Stripe."""
    if order.total != 0:
        raise PaymentError(_("This order has an amount to pay."))
    with transaction.atomic():
        order = locked(order)
        if order.status == Order.Status.PAID:
            return order
        ensure_payable(order)
        order.payment_method = Order.Method.FREE
        order.paid_at = timezone.now()
        change_status(
            order,
            Order.Status.PAID,
            actor=actor,
            note="Nothing to pay",
            extra_fields=["payment_method", "paid_at"],
        )
        try:
            with transaction.atomic():
                courses.confirm_registrations(order.booking, actor=actor)
        except courses.RegistrationError as error:
            raise PaymentError(str(error)) from error
    return order


def flag_order(order, reason, *, actor=None):
    """Put an order in front of staff (the order list's "Needs attention" filter) and tell them."""
    order.needs_attention = True
    order.attention_reason = "\n".join(filter(None, [order.attention_reason, reason]))
    order.save(
        update_fields=[
            "needs_attention",
            "attention_reason",
            "stripe_payment_intent_id",
            "updated_at",
        ]
    )
    record("order.flagged", order, actor=actor, note=reason)
    send_payments_email(
        "payments/email/staff_attention",
        finance_emails(),
        {"order": order, "reason": reason},
    )


def resolve_attention(order, *, actor, note=""):
    """Finance has dealt with a flagged order: it leaves the "Needs attention" list."""
    with transaction.atomic():
        order = locked(order)
        order.needs_attention = False
        order.save(update_fields=["needs_attention", "updated_at"])
        record("order.attention_resolved", order, actor=actor, note=note)
    return order
