"""Card payment through Stripe Checkout: start a session, settle it as Stripe reports it
(webhook, return page, status poll, reconciliation), and what follows a card payment that
cannot simply confirm: a wrong amount, a second payment, seats already gone, a failed bank
debit, a dispute."""

import logging
from datetime import timedelta

import stripe
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.locking import lock_one
from cms.money import format_money
from courses import services as courses
from courses.services import ReleaseOutcome
from payments.models import (
    FinanceDocument,
    Order,
    OrderLineItem,
    Payment,
    PaymentAttempt,
    Refund,
)
from payments.stripe_client import card_payments_enabled, get_client

from .common import (
    PaymentError,
    can_change_status,
    change_status,
    finance_emails,
    locked,
    record,
    record_attempt_started,
    send_payments_email,
)
from .documents import queue_document_email
from .orders import ensure_payable, flag_order
from .pricing import expire_session_after_commit, forget_open_checkout, sync_order_with_booking
from .refunds import refund_order
from .stripe_objects import order_for_stripe_object, stripe_object_or_none

log = logging.getLogger(__name__)

# Stripe accepts a Checkout Session expiry between 30 minutes and 24 hours ahead.
STRIPE_MIN_SESSION_LIFETIME = timedelta(minutes=31)
STRIPE_MAX_SESSION_LIFETIME = timedelta(hours=23)


def _checkout_line_items(order):
    currency = order.currency.lower()
    if order.discount_amount:
        # Checkout has no negative lines; one line for the discounted order keeps the charged
        # amount exactly the order total, and the receipt lists the detail.
        seats = sum(
            line.quantity
            for line in order.line_items.all()
            if line.kind == OrderLineItem.Kind.TICKET
        )
        name = _("%(event)s: %(seats)s seat(s), discount %(code)s") % {
            "event": order.event.title,
            "seats": seats,
            "code": order.discount_code.code,
        }
        return [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": order.total,
                    "product_data": {"name": name[:250]},
                },
                "quantity": 1,
            }
        ]
    return [
        {
            "price_data": {
                "currency": currency,
                "unit_amount": line.unit_amount,
                "product_data": {"name": line.description[:250]},
            },
            "quantity": line.quantity,
        }
        for line in order.line_items.all()
        if line.amount
    ]


def start_card_checkout(order, *, success_url, cancel_url, actor=None):
    """Create (or reuse) the order's Stripe Checkout Session and return its hosted-page URL.

    The order is first brought in line with its booking. An open session is reused only
    while it charges the order's current total; one opened for an older total is forgotten
    and expired. Stripe is never called while the order row is locked.
    """
    if not card_payments_enabled():
        raise PaymentError(_("Card payment is not available. Please choose to pay by invoice."))
    order = sync_order_with_booking(order, actor=actor)
    ensure_payable(order)
    client = get_client()
    if order.stripe_checkout_session_id:
        try:
            session = client.v1.checkout.sessions.retrieve(order.stripe_checkout_session_id)
        except stripe.StripeError:
            session = None
        if session is not None and session.status == "open":
            if _charges_total(session, order):
                return session.url
            # Opened for an older total (a change raced it, or expiring it failed).
            order = _forget_session(order, session.id)
        if session is not None and session.status == "complete":
            settle_checkout_session(session.id, source="checkout page")
            order.refresh_from_db()
            if order.status != Order.Status.PENDING:
                raise PaymentError(_("This order has already been paid."))
            # The session was paid but could not settle the order (a wrong amount, refunded):
            # the buyer still owes the total, so a new session is opened for it.
            order = _forget_session(order, session.id)
            ensure_payable(order)
    now = timezone.now()
    hold_ends = order.booking.expires_at or now
    expires_at = min(
        max(hold_ends, now + STRIPE_MIN_SESSION_LIFETIME), now + STRIPE_MAX_SESSION_LIFETIME
    )
    attempt = order.checkout_attempts + 1
    amount = order.total
    params = {
        "mode": "payment",
        "line_items": _checkout_line_items(order),
        "customer_email": order.email,
        "client_reference_id": str(order.public_id),
        "metadata": {"order_id": str(order.public_id), "booking_id": str(order.booking.public_id)},
        "payment_intent_data": {"metadata": {"order_id": str(order.public_id)}},
        "success_url": f"{success_url}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    try:
        session = client.v1.checkout.sessions.create(
            params, {"idempotency_key": f"checkout-{order.public_id}-{attempt}"}
        )
    except stripe.StripeError as error:
        log.warning("Checkout Session for order %s failed: %s", order.pk, error)
        raise PaymentError(
            _(
                "We could not reach the card processor, and nothing was charged. Please try "
                "again in a minute."
            )
        ) from error
    with transaction.atomic():
        order = lock_one(Order, order.pk)
        changed = order.total != amount
        if not changed:
            order.stripe_checkout_session_id = session.id
            order.checkout_attempts = attempt
            order.payment_method = Order.Method.CARD
            order.save(
                update_fields=[
                    "stripe_checkout_session_id",
                    "checkout_attempts",
                    "payment_method",
                    "updated_at",
                ]
            )
            record(
                "order.checkout_started",
                order,
                actor=actor,
                after={"session": session.id, "amount": order.total},
            )
            record_attempt_started(order, session)
    if changed:
        # The order changed while Stripe was asked (no lock is held across that call): this
        # session is for the old amount, so it is never offered.
        expire_session_after_commit(session.id)
        raise PaymentError(
            _(
                "The amount to pay changed while the card page was being prepared, and nothing "
                "was charged. Check the new total below and pay again."
            )
        )
    return session.url


def _charges_total(session, order):
    """True when an open Checkout Session charges exactly the order's current total."""
    return session.amount_total == order.total and (session.currency or "").upper() == (
        order.currency.upper()
    )


def _forget_session(order, session_id):
    """Forget a stale session on the order, under its lock; it is expired after the commit,
    so its "expired" webhook no longer matches the order and releases nothing."""
    with transaction.atomic():
        order = lock_one(Order, order.pk)
        if order.stripe_checkout_session_id == session_id:
            forget_open_checkout(order)
            order.save(update_fields=["stripe_checkout_session_id", "updated_at"])
    return order


def settle_checkout_session(session_id, *, source):
    """Act on a Checkout Session as Stripe reports it *now* (never on a webhook's copy).

    Returns the order, or None when the session belongs to no order here.
    """
    session = stripe_object_or_none(
        get_client().v1.checkout.sessions.retrieve, session_id, {"expand": ["payment_intent"]}
    )
    order = None
    if session is not None:
        order = order_for_stripe_object(session.metadata, session_id=session.id)
    if order is None:
        log.warning("Checkout Session %s (%s) matches no order", session_id, source)
        return None
    if session.status == "complete" and session.payment_status == "paid":
        return record_card_payment(
            order, session.payment_intent, source=source, session_id=session.id
        )
    if session.status == "expired":
        _attempt_ends(order, session.id, PaymentAttempt.Status.EXPIRED, note=source)
        if session.id == order.stripe_checkout_session_id:
            expire_order(order, note=f"Checkout Session expired ({source})")
    return order


def _attempt_for(order, session_id):
    """The attempt of a Checkout Session, locked (the caller holds a transaction); created
    here for a session opened elsewhere (another tab's older session, before attempts)."""
    if not session_id:
        return None
    attempt, _created = PaymentAttempt.objects.get_or_create(
        stripe_checkout_session_id=session_id,
        defaults={"order": order, "amount_expected": order.total, "currency": order.currency},
    )
    return lock_one(PaymentAttempt, attempt.pk)


def _attempt_ends(order, session_id, status, *, note):
    """A session that closed without a payment: its attempt is expired or failed (once)."""
    with transaction.atomic():
        attempt = _attempt_for(locked(order), session_id)
        if can_change_status(attempt, status):
            change_status(attempt, status, note=note)


def record_card_payment(order, intent, *, source, session_id=""):
    """Record a succeeded PaymentIntent once, then confirm the seats (or refund if none left).

    The unique PaymentIntent id on Payment and the order row lock make this idempotent. A
    payment of the wrong amount or currency is flagged on its attempt and never counts: the
    order waits for a correct payment, which confirms it and refunds the flagged one.
    """
    amount = intent.amount_received
    currency = intent.currency.upper()
    seats_gone = duplicate = False
    flagged_earlier = []
    with transaction.atomic():
        order = locked(order)
        if Payment.objects.filter(stripe_payment_intent_id=intent.id).exists():
            return order
        attempt = _attempt_for(order, session_id)
        # A second, different payment for an order already paid (two tabs, two sessions).
        # Only payments that count: a flagged wrong amount never paid for the order.
        duplicate = order.counted_payments().exists()
        wrong = amount != order.total or currency != order.currency
        payment = Payment.objects.create(
            order=order,
            attempt=attempt,
            method=Order.Method.CARD,
            amount=amount,
            currency=currency,
            stripe_payment_intent_id=intent.id,
            stripe_charge_id=intent.latest_charge or "",
        )
        record(
            "payment.received",
            payment,
            after={"amount": amount, "currency": currency, "order": order.reference},
            note=source,
        )
        if duplicate:
            _attempt_paid(attempt, intent, amount, source=source)
            flag_order(
                order,
                _(
                    "Paid twice: the second payment (%(intent)s, %(amount)s) is refunded "
                    "automatically."
                )
                % {"intent": intent.id, "amount": format_money(amount, currency)},
            )
        elif wrong:
            reason = _(
                "Stripe took %(taken)s but the order is for %(total)s. The seats were not "
                "confirmed: check the order and refund or confirm by hand."
            ) % {"taken": format_money(amount, currency), "total": order.money(order.total)}
            _attempt_paid(attempt, intent, amount, source=source, flagged=reason)
            order.stripe_payment_intent_id = intent.id
            if order.stripe_checkout_session_id == session_id:
                # Paying again opens a new session for the right amount.
                order.stripe_checkout_session_id = ""
                order.save(update_fields=["stripe_checkout_session_id"])
            flag_order(order, reason)
            return order
        elif order.status == Order.Status.CANCELLED:
            # Paid through a session still open after the order ended: nothing to sell.
            _attempt_paid(attempt, intent, amount, source=source)
            seats_gone = True
        else:
            _attempt_paid(attempt, intent, amount, source=source)
            flagged_earlier = list(
                order.payments.filter(
                    status=Payment.Status.SUCCEEDED, attempt__flagged_reason__gt=""
                )
            )
            order.stripe_payment_intent_id = intent.id
            order.payment_method = Order.Method.CARD
            order.paid_at = timezone.now()
            change_status(
                order,
                Order.Status.PAID,
                note=f"Card payment {intent.id} ({source})",
                extra_fields=["payment_method", "paid_at", "stripe_payment_intent_id"],
            )
            courses.record_booking_paid(order.booking, at=order.paid_at, note=order.reference)
            try:
                with transaction.atomic():
                    courses.confirm_registrations(order.booking)
            except courses.SeatsNoLongerAvailable:
                seats_gone = True
            except courses.RegistrationError as error:
                # The money is in: keep the payment and let staff decide (confirm or refund).
                flag_order(
                    order,
                    _("Paid, but the seats could not be confirmed: %(error)s") % {"error": error},
                )
            else:
                queue_document_email(FinanceDocument.Kind.RECEIPT, order.pk)
    if duplicate:
        # After the commit: the refund row must exist before Stripe is asked.
        _refund_payment(
            order,
            payment,
            origin=Refund.Origin.DUPLICATE,
            reason=_("The order was already paid; nobody is charged twice."),
        )
        return Order.objects.get(pk=order.pk)
    if seats_gone:
        refund_unavailable_seats(order, payment=payment)
        return Order.objects.get(pk=order.pk)
    for flagged in flagged_earlier:
        _refund_payment(
            order,
            flagged,
            origin=Refund.Origin.WRONG_AMOUNT,
            reason=_("The wrong amount was paid; the correct payment confirmed the order."),
        )
    return Order.objects.get(pk=order.pk) if flagged_earlier else order


def _attempt_paid(attempt, intent, amount, *, source, flagged=""):
    if attempt is None:
        return
    attempt.amount_received = amount
    attempt.stripe_payment_intent_id = intent.id
    attempt.flagged_reason = flagged
    if attempt.status == PaymentAttempt.Status.PAID:
        attempt.save(update_fields=["amount_received", "stripe_payment_intent_id", "updated_at"])
        return
    change_status(
        attempt,
        PaymentAttempt.Status.PAID,
        note=f"{intent.id} ({source})",
        extra_fields=["amount_received", "stripe_payment_intent_id", "flagged_reason"],
    )


def _refund_payment(order, payment, *, origin, reason):
    """Give back what is left of one payment; a refusal is put in front of Finance."""
    amount = payment.amount - (
        payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount"))["s"] or 0
    )
    if amount <= 0:
        return None
    try:
        return refund_order(order, amount, origin=origin, reason=reason, payment=payment)
    except PaymentError as error:
        with transaction.atomic():
            flag_order(
                locked(order),
                _("The automatic refund of %(intent)s failed: %(error)s Refund it by hand.")
                % {"intent": payment.stripe_payment_intent_id, "error": error},
            )
        return None


def refund_unavailable_seats(order, *, payment=None):
    """A payment arrived after the hold expired and the seats went to others (or the order
    was cancelled meanwhile): give it back (`payment`, else all that is refundable)."""
    with transaction.atomic():
        courses.release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="paid after the seats were gone"
        )
    refundable = Order.objects.get(pk=order.pk).refundable_amount
    try:
        refund = refund_order(
            order,
            min(payment.amount, refundable) if payment is not None else refundable,
            origin=Refund.Origin.NO_SEAT,
            reason=_("The payment arrived after the seat hold expired and the event was full."),
            payment=payment,
        )
    except PaymentError as error:
        with transaction.atomic():
            flag_order(
                locked(order),
                _(
                    "Paid after the seats were gone, and the automatic refund failed: "
                    "%(error)s Refund it by hand."
                )
                % {"error": error},
            )
        return None
    order.refresh_from_db()
    context = {"order": order, "refund": refund}
    send_payments_email("payments/email/refund_no_seat", [order.email], context, order=order)
    send_payments_email("payments/email/staff_refund_no_seat", finance_emails(), context)
    return refund


def expire_order(order, *, note, actor=None):
    """An unpaid card order whose checkout ended: release its seats."""
    with transaction.atomic():
        order = locked(order)
        if order.status != Order.Status.PENDING or order.payment_method == Order.Method.INVOICE:
            return order
        if order.payments.filter(status=Payment.Status.SUCCEEDED).exists():
            return order
        change_status(order, Order.Status.EXPIRED, actor=actor, note=note)
        courses.release_registrations(
            order.booking, outcome=ReleaseOutcome.EXPIRED, reason="payment expired", actor=actor
        )
    return order


def fail_async_payment(session_id):
    """A delayed payment (bank debit) failed after checkout: cancel and tell the buyer."""
    session = stripe_object_or_none(get_client().v1.checkout.sessions.retrieve, session_id)
    if session is None:
        return None
    order = order_for_stripe_object(session.metadata, session_id=session.id)
    if order is None or session.payment_status == "paid":
        return order
    with transaction.atomic():
        order = locked(order)
        attempt = _attempt_for(order, session.id)
        if can_change_status(attempt, PaymentAttempt.Status.FAILED):
            change_status(attempt, PaymentAttempt.Status.FAILED, note="The bank payment failed")
        if order.status != Order.Status.PENDING:
            return order
        change_status(order, Order.Status.CANCELLED, note="The bank payment failed")
        courses.release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="payment failed"
        )
        send_payments_email(
            "payments/email/async_payment_failed", [order.email], {"order": order}, order=order
        )
    return order


def record_dispute(dispute):
    """A cardholder disputed a charge: staff must answer in Stripe's dashboard (once per
    dispute, however often its event is processed)."""
    intent_id = dispute.get("payment_intent")
    if intent_id:
        # Re-read the intent from Stripe so a forged or stale event cannot flag an order.
        intents = get_client().v1.payment_intents
        if stripe_object_or_none(intents.retrieve, intent_id) is None:
            intent_id = None
    order = order_for_stripe_object({}, payment_intent_id=intent_id)
    if order is None:
        log.warning("Dispute %s matches no order", dispute.get("id"))
        return None
    with transaction.atomic():
        order = locked(order)
        dispute_id = str(dispute.get("id") or "")
        if dispute_id and dispute_id in order.attention_reason:
            return order
        flag_order(
            order,
            _(
                "The card payment was disputed (%(reason)s, %(amount)s; %(dispute)s). Respond "
                "in the Stripe dashboard before the deadline."
            )
            % {
                "reason": dispute.get("reason", _("no reason given")),
                "amount": format_money(
                    dispute.get("amount", 0), dispute.get("currency", order.currency)
                ),
                "dispute": dispute_id,
            },
        )
    return order
