"""Refunds: by Finance, for a cancelled seat by the event's policy, and mirrored from Stripe.
The order's status follows what is kept; a full refund gives the seats back.

A seat refunded after it earned something that stays (a CE certificate already issued is not
withdrawn by a refund) puts the order in front of Finance: other apps say what a seat keeps
through the Wagtail hook `REFUNDED_SEATS_HOOK`, so payments imports none of them.
"""

import logging

import stripe
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail import hooks

from courses import services as courses
from courses.models import RegistrationStatus
from courses.services import ReleaseOutcome
from payments.models import EventPaymentSettings, Order, Payment, PaymentAttempt, Refund
from payments.stripe_client import get_client

from .common import PaymentError, can_change_status, change_status, locked, record
from .documents import queue_refund_notice
from .orders import flag_order
from .stripe_objects import order_for_stripe_object, plain, stripe_object_or_none

log = logging.getLogger(__name__)

# A function registered under this name takes the seats being refunded and returns sentences
# for Finance about what those seats keep (e.g. certification: "... keeps certificate CE-...").
REFUNDED_SEATS_HOOK = "refunded_seats_keep"


def _warn_finance_of_what_seats_keep(order, registrations, *, actor=None):
    """Flag the order (Finance's "needs attention" list and email) when a refunded seat keeps
    something the refund does not take back. Call with the order locked."""
    registrations = list(registrations)
    if not registrations:
        return
    kept = [line for keeps in hooks.get_hooks(REFUNDED_SEATS_HOOK) for line in keeps(registrations)]
    if kept:
        flag_order(order, "\n".join(kept), actor=actor)


def refund_order(order, amount, *, actor=None, reason="", origin=Refund.Origin.STAFF, payment=None):
    """Refund part or all of what was paid: from `payment` when given (a flagged or duplicate
    card payment), else from the latest payment. Card refunds go through Stripe with an
    idempotency key; the order's state then follows Stripe's answer and its `charge.refunded`
    webhook."""
    try:
        amount = int(amount)
    except (TypeError, ValueError):
        raise PaymentError(_("Enter the amount to refund in cents, e.g. 2500 for 25.00.")) from None
    if amount <= 0:
        raise PaymentError(_("Enter an amount above zero."))
    with transaction.atomic():
        order = locked(order)
        refundable = order.refundable_amount
        if amount > refundable:
            raise PaymentError(
                _(
                    "The most you can refund is %(refundable)s (paid %(paid)s, already "
                    "refunded or pending %(refunded)s)."
                )
                % {
                    "refundable": order.money(refundable),
                    "paid": order.money(order.amount_paid),
                    "refunded": order.money(order.amount_refunded + order.amount_refund_pending),
                }
            )
        if payment is None:
            payment = (
                order.payments.filter(status=Payment.Status.SUCCEEDED)
                .order_by("-created_at")
                .first()
            )
        refund = Refund.objects.create(
            order=order,
            payment=payment,
            amount=amount,
            currency=payment.currency if payment is not None else order.currency,
            origin=origin,
            reason=reason[:255],
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        record(
            "refund.requested",
            refund,
            actor=actor,
            after={"amount": amount, "order": order.reference},
            note=reason,
        )
    if payment.method != Order.Method.CARD or not payment.stripe_payment_intent_id:
        # Invoice payments are returned by bank transfer outside the system; staff record it.
        # The settled row is returned: the caller reports "succeeded", not the stale "pending".
        return _settle_refund(refund, Refund.Status.SUCCEEDED, actor=actor)
    try:
        stripe_refund = get_client().v1.refunds.create(
            {
                "payment_intent": payment.stripe_payment_intent_id,
                "amount": amount,
                "metadata": {
                    "order_id": str(order.public_id),
                    "refund_key": refund.idempotency_key,
                },
            },
            {"idempotency_key": f"refund-{refund.idempotency_key}"},
        )
    except stripe.StripeError as error:
        message = getattr(error, "user_message", None) or str(error)
        _settle_refund(refund, Refund.Status.FAILED, actor=actor, failure=message)
        raise PaymentError(
            _("Stripe refused the refund (%(message)s). Nothing was refunded.")
            % {"message": message}
        ) from error
    _apply_stripe_refund(refund.order, stripe_refund, actor=actor)
    refund.refresh_from_db()
    return refund


def _apply_stripe_refund(order, stripe_refund, *, actor=None):
    """Match a Stripe refund to its row (by id, else by our key in its metadata) and settle it."""
    stripe_refund = plain(stripe_refund)
    metadata = stripe_refund.get("metadata") or {}
    with transaction.atomic():
        refund = (
            Refund.objects.select_for_update().filter(stripe_refund_id=stripe_refund["id"]).first()
        )
        if refund is None and metadata.get("refund_key"):
            refund = (
                Refund.objects.select_for_update()
                .filter(idempotency_key=metadata["refund_key"])
                .first()
            )
        if refund is None:
            payment = Payment.objects.filter(
                stripe_payment_intent_id=stripe_refund.get("payment_intent")
            ).first()
            refund = Refund.objects.create(
                order=order,
                payment=payment,
                amount=stripe_refund["amount"],
                currency=stripe_refund["currency"].upper(),
                origin=Refund.Origin.STRIPE,
                reason=_("Refunded in the Stripe dashboard"),
            )
            record("refund.requested", refund, after={"amount": refund.amount}, note="Stripe")
        if not refund.stripe_refund_id:
            refund.stripe_refund_id = stripe_refund["id"]
            refund.save(update_fields=["stripe_refund_id"])
        status = {
            "succeeded": Refund.Status.SUCCEEDED,
            "failed": Refund.Status.FAILED,
            "canceled": Refund.Status.FAILED,
        }.get(stripe_refund["status"], Refund.Status.PENDING)
        _settle_refund(refund, status, actor=actor)


def _settle_refund(refund, status, *, actor=None, failure=""):
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if status == Refund.Status.PENDING or not can_change_status(refund, status):
            # Stripe still processing (or an out-of-date copy): the row keeps what it knows.
            return refund
        refund.failure_message = failure
        if not change_status(
            refund, status, actor=actor, note=failure, extra_fields=["failure_message"]
        ):
            return refund
        if status == Refund.Status.SUCCEEDED:
            _order_follows_refunds(refund.order, actor=actor)
            _attempt_follows_refunds(refund.payment, actor=actor)
            # The buyer's email and numbered credit note, once per refund, after the commit.
            queue_refund_notice(refund.pk)
    return refund


def _attempt_follows_refunds(payment, *, actor=None):
    """A card payment given back in full: its Checkout attempt is `refunded`."""
    attempt = payment.attempt if payment is not None else None
    if attempt is None or attempt.status != PaymentAttempt.Status.PAID:
        return
    refunded = (
        payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or 0
    )
    if refunded >= payment.amount:
        change_status(attempt, PaymentAttempt.Status.REFUNDED, actor=actor, note="Refunded")


def _order_follows_refunds(order, *, actor=None):
    """Paid -> partially refunded -> refunded, by what is kept (paid minus refunded) against
    the order total; a full refund gives the seats (and access) back."""
    order = locked(order)
    refunded = order.amount_refunded
    paid = order.amount_paid
    if refunded <= 0:
        return
    if order.status == Order.Status.PENDING:
        # A flagged payment (wrong amount) that staff gave back: nothing stays sold.
        if refunded >= paid:
            change_status(order, Order.Status.CANCELLED, actor=actor, note="Payment refunded")
            courses.release_registrations(
                order.booking, outcome=ReleaseOutcome.CANCELLED, reason="refunded", actor=actor
            )
        return
    if not order.is_settled:
        return
    kept = paid - refunded
    if kept >= order.total:
        target = Order.Status.PAID  # only a duplicate payment went back
    elif kept <= 0:
        target = Order.Status.REFUNDED
    else:
        target = Order.Status.PARTIALLY_REFUNDED
    if order.status != target:
        change_status(order, target, actor=actor, note=f"Refunded {order.money(refunded)}")
    if target == Order.Status.REFUNDED:
        seats = list(order.booking.registrations.filter(status=RegistrationStatus.CONFIRMED))
        courses.release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="refunded", actor=actor
        )
        courses.record_booking_unpaid(order.booking, actor=actor, note="Refunded in full")
        _warn_finance_of_what_seats_keep(order, seats, actor=actor)


def sync_refunds_from_charge(charge_id):
    """`charge.refunded`: read the charge and its refunds from Stripe and mirror them."""
    charges = get_client().v1.charges
    charge = stripe_object_or_none(charges.retrieve, charge_id, {"expand": ["refunds"]})
    order = None
    if charge is not None:
        order = order_for_stripe_object({}, payment_intent_id=charge.payment_intent)
    if order is None:
        log.warning("Charge %s matches no order", charge_id)
        return None
    for stripe_refund in charge.refunds.data:
        _apply_stripe_refund(order, stripe_refund)
    return order


def seat_amount(registration):
    """What one seat cost before discounts: its ticket and its add-ons."""
    return registration.unit_price + registration.add_on_total()


def paid_share_of(order, amount):
    """`amount`'s share of what was actually paid for the order, discounts included."""
    return amount * order.total // order.subtotal if order.subtotal else 0


def cancellation_refund_amount(order, registration_amount, *, now=None):
    """An attendee's refund for cancelling, by the event's policy (full, minus a fee, none)."""
    now = now or timezone.now()
    policy = EventPaymentSettings.for_event(order.event)
    starts = order.event.starts_at
    if not starts or not order.subtotal:
        return 0
    paid_share = paid_share_of(order, registration_amount)
    days_left = (starts - now).total_seconds() / 86400
    if days_left >= policy.full_refund_days_before:
        return paid_share
    if days_left >= policy.no_refund_days_before:
        return max(0, paid_share - policy.cancellation_fee)
    return 0


def refund_cancelled_registration(registration, *, actor=None):
    """An attendee cancelled one seat: refund its share by the event's policy."""
    order = Order.objects.filter(booking_id=registration.booking_id).first()
    if order is None or not order.is_settled or not order.amount_paid:
        return None
    amount = min(
        cancellation_refund_amount(order, seat_amount(registration)), order.refundable_amount
    )
    if amount <= 0:
        record(
            "refund.not_due",
            order,
            actor=actor,
            note=f"{registration.attendee_name} cancelled; the policy gives no refund now.",
        )
        return None
    refund = refund_order(
        order,
        amount,
        actor=actor,
        origin=Refund.Origin.CANCELLATION,
        reason=_("%(name)s cancelled") % {"name": registration.attendee_name},
    )
    with transaction.atomic():
        _warn_finance_of_what_seats_keep(locked(order), [registration], actor=actor)
    return refund
