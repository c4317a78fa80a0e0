"""Orders: built from a booking, what may be paid and how, free orders, and putting an order
in front of Finance when something needs a person."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.locking import lock_one
from courses import services as courses
from courses.models import ApprovalStatus, BookingStatus
from payments.models import EventPaymentSettings, Order
from payments.stripe_client import card_payments_enabled

from .common import PaymentError, change_status, finance_emails, locked, record, send_payments_email
from .pricing import (
    forget_open_checkout,  # noqa: F401 - invoices import it from here
    reprice,
    sync_order_with_booking,
)


def order_for_booking(booking, *, actor=None):
    """The booking's order, created the first time it is asked for; while it is unpaid its
    lines and total follow the booking (`sync_order_with_booking`), so the buyer always sees
    and pays the booking's current price."""
    existing = Order.objects.filter(booking=booking).first()
    if existing:
        return sync_order_with_booking(existing, actor=actor)
    try:
        with transaction.atomic():
            order = Order.objects.create(
                booking=booking,
                event=booking.event,
                purchaser=booking.purchaser,
                email=booking.purchaser.email,
                currency=booking.currency.upper(),
            )
            reprice(order, audit=False)
            record(
                "order.created",
                order,
                actor=actor,
                after={"total": order.total, "currency": order.currency},
            )
    except IntegrityError:
        # Another request created it first (double click, return page racing the webhook).
        return sync_order_with_booking(Order.objects.get(booking=booking), actor=actor)
    return order


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
    try:
        # A members-only seat is paid only while its purchaser is a member.
        courses.check_member_tickets(booking)
    except courses.RegistrationError as error:
        raise PaymentError(error.message) from error


def confirm_free_order(order, *, actor=None):
    """An order that costs nothing confirms at once, without Stripe, and its booking is
    recorded as paid (nothing was owed: what CE credit checks)."""
    order = sync_order_with_booking(order, actor=actor)
    if order.total != 0:
        raise PaymentError(_("This order has an amount to pay."))
    with transaction.atomic():
        order = lock_one(Order, order.pk)
        if order.status == Order.Status.PAID:
            return order
        if order.total != 0:
            # The booking changed between the page and this click.
            raise PaymentError(_("This order has an amount to pay."))
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
        courses.record_booking_paid(
            order.booking, at=order.paid_at, actor=actor, note=f"Order {order.reference}: free"
        )
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
