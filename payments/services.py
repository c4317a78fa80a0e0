"""Payment flows: the one place that changes orders, payments, refunds and documents.

Views, webhooks, tasks and the admin call these functions. Registrations change only through
`courses.services.confirm_registrations` / `release_registrations`.

Concurrency: every flow that moves an order's state first locks the order row
(`select_for_update` on PostgreSQL; on SQLite the project's IMMEDIATE transactions serialise
writers), then re-reads it, so the webhook, the return page and reconciliation can race
without confirming twice.
"""

import logging
from datetime import timedelta

import stripe
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from cms import audit
from cms.access import Perm, users_with
from courses.services import ReleaseOutcome
from payments.models import (
    DiscountCode,
    DocumentCounter,
    EventPaymentSettings,
    FinanceDocument,
    Order,
    OrderLineItem,
    Payment,
    Refund,
    WebhookEvent,
    format_money,
)
from payments.stripe_client import card_payments_enabled, get_client

log = logging.getLogger(__name__)

# Stripe accepts a Checkout Session expiry between 30 minutes and 24 hours ahead.
STRIPE_MIN_SESSION_LIFETIME = timedelta(minutes=31)
STRIPE_MAX_SESSION_LIFETIME = timedelta(hours=23)


class PaymentError(Exception):
    """A refusal whose message tells the person what to do next."""


def _courses():
    # Imported late: payments depends on courses, and tests load payments without a booking.
    from courses import services

    return services


def seats_unavailable_error():
    return _courses().SeatsNoLongerAvailable


def registration_error():
    return _courses().RegistrationError


def _record(action, obj, *, actor=None, before=None, after=None, note=""):
    audit.record(f"payments.{action}", obj, actor=actor, before=before, after=after, note=note)


def _locked(order):
    return Order.objects.select_for_update().get(pk=order.pk)


def _change_status(order, status, *, actor=None, note="", extra_fields=()):
    before = order.status
    order.status = status
    order.save(update_fields=["status", "updated_at", *extra_fields])
    _record(
        "order.status_changed",
        order,
        actor=actor,
        before={"status": before},
        after={"status": status},
        note=note,
    )


def finance_emails():
    """Where staff alerts go: Finance staff, else the site's contact address."""
    emails = list(users_with(Perm.VIEW_FINANCE, superusers=False).values_list("email", flat=True))
    if not emails:
        contact = organisation_details().get("email")
        emails = [contact] if contact else [email for _, email in settings.ADMINS]
    return emails


def organisation_details():
    """The organisation's name, address and contact for documents, from the site settings."""
    details = {"name": settings.WAGTAIL_SITE_NAME, "address": "", "email": "", "phone": ""}
    try:
        from wagtail.models import Site

        from cms.models import SiteSettings

        site = Site.objects.filter(is_default_site=True).first()
        if site:
            site_settings = SiteSettings.for_site(site)
            details.update(
                name=site_settings.organisation_name or details["name"],
                address=site_settings.postal_address,
                email=site_settings.contact_email,
                phone=site_settings.phone,
            )
    except (ImportError, LookupError):
        pass
    return details


def _send(subject, template, context, to, attachments=()):
    body = render_to_string(template, {"organisation": organisation_details(), **context})
    message = EmailMessage(subject=subject, body=body, to=to)
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()


# -- orders ----------------------------------------------------------------------------------


def order_for_booking(booking, *, actor=None):
    """The booking's order, built from its line items the first time it is asked for."""
    existing = Order.objects.filter(booking=booking).first()
    if existing:
        return existing
    courses = _courses()
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
            _record(
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
        raise PaymentError("This order is no longer awaiting payment.")
    if booking.hold_has_expired() or booking.status not in ("held", "confirmed"):
        raise PaymentError(
            "Your seat hold has expired, so nothing was charged. Please register again."
        )
    if booking.approval_status in ("pending", "rejected"):
        raise PaymentError(
            "This booking is waiting for staff approval; we will email you when you can pay."
        )


# -- discount codes --------------------------------------------------------------------------


def apply_discount_code(order, code, *, actor=None, now=None):
    """Apply a discount code to a pending order; the amount is computed here, never trusted
    from the browser. Raises PaymentError with the reason a code cannot be used."""
    now = now or timezone.now()
    code = (code or "").strip()
    if not code:
        raise PaymentError("Enter a discount code, or continue without one.")
    with transaction.atomic():
        order = _locked(order)
        if order.status != Order.Status.PENDING or order.payment_method == Order.Method.INVOICE:
            raise PaymentError("A discount can only be added before you pay.")
        discount = DiscountCode.objects.select_for_update().filter(code__iexact=code).first()
        if discount is None or not discount.active:
            raise PaymentError(
                f"“{code}” is not a valid discount code. Check the spelling, or continue "
                "without a code."
            )
        if discount.valid_from and now < discount.valid_from:
            raise PaymentError(
                f"The code {discount.code} can be used from "
                f"{discount.valid_from:%B %-d, %Y}. Continue without it, or come back then."
            )
        if discount.valid_until and now >= discount.valid_until:
            raise PaymentError(
                f"The code {discount.code} expired on {discount.valid_until:%B %-d, %Y}."
            )
        if discount.event_id and discount.event_id != order.event_id:
            raise PaymentError(f"The code {discount.code} is not valid for this event.")
        if discount.kind == DiscountCode.Kind.FIXED and discount.currency != order.currency:
            raise PaymentError(f"The code {discount.code} cannot be used for this currency.")
        if discount.max_uses is not None:
            used = (
                discount.orders.exclude(pk=order.pk)
                .exclude(status__in=[Order.Status.EXPIRED, Order.Status.CANCELLED])
                .count()
            )
            if used >= discount.max_uses:
                raise PaymentError(f"The code {discount.code} has been used up.")
        lines = list(order.line_items.exclude(kind=OrderLineItem.Kind.DISCOUNT))
        if discount.ticket_type_id:
            eligible = sum(
                line.amount for line in lines if line.ticket_type_id == discount.ticket_type_id
            )
            if not eligible:
                raise PaymentError(
                    f"The code {discount.code} applies only to {discount.ticket_type} tickets, "
                    "and this order has none."
                )
        else:
            eligible = sum(line.amount for line in lines)
        if discount.kind == DiscountCode.Kind.PERCENT:
            amount = eligible * discount.percent_off // 100
        else:
            amount = min(discount.amount_off, eligible)
        _forget_open_checkout(order)
        order.line_items.filter(kind=OrderLineItem.Kind.DISCOUNT).delete()
        OrderLineItem.objects.create(
            order=order,
            kind=OrderLineItem.Kind.DISCOUNT,
            description=f"Discount {discount.code} ({discount.describe()})",
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
        _record(
            "order.discount_applied",
            order,
            actor=actor,
            before=before,
            after={"total": order.total, "discount_code": discount.code},
        )
    return order


def _forget_open_checkout(order):
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


# -- free orders -----------------------------------------------------------------------------


def confirm_free_order(order, *, actor=None):
    """An order that costs nothing confirms at once, without Stripe."""
    if order.total != 0:
        raise PaymentError("This order has an amount to pay.")
    with transaction.atomic():
        order = _locked(order)
        if order.status == Order.Status.PAID:
            return order
        ensure_payable(order)
        order.payment_method = Order.Method.FREE
        order.paid_at = timezone.now()
        _change_status(
            order,
            Order.Status.PAID,
            actor=actor,
            note="Nothing to pay",
            extra_fields=["payment_method", "paid_at"],
        )
        try:
            with transaction.atomic():
                _courses().confirm_registrations(order.booking, actor=actor)
        except registration_error() as error:
            raise PaymentError(str(error)) from error
    return order


# -- card payment (Stripe Checkout) ----------------------------------------------------------


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
        name = f"{order.event.title}: {seats} seat(s), discount {order.discount_code.code}"
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
    """Create (or reuse) the order's Stripe Checkout Session and return its hosted-page URL."""
    if not card_payments_enabled():
        raise PaymentError("Card payment is not available. Please choose to pay by invoice.")
    ensure_payable(order)
    client = get_client()
    if order.stripe_checkout_session_id:
        try:
            session = client.v1.checkout.sessions.retrieve(order.stripe_checkout_session_id)
        except stripe.StripeError:
            session = None
        if session is not None and session.status == "open":
            return session.url
        if session is not None and session.status == "complete":
            settle_checkout_session(session.id, source="checkout page")
            raise PaymentError("This order has already been paid.")
    now = timezone.now()
    hold_ends = order.booking.expires_at or now
    expires_at = min(
        max(hold_ends, now + STRIPE_MIN_SESSION_LIFETIME), now + STRIPE_MAX_SESSION_LIFETIME
    )
    attempt = order.checkout_attempts + 1
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
            "We could not reach the card processor, and nothing was charged. Please try again "
            "in a minute."
        ) from error
    with transaction.atomic():
        order = _locked(order)
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
        _record(
            "order.checkout_started",
            order,
            actor=actor,
            after={"session": session.id, "amount": order.total},
        )
    return session.url


def _plain(stripe_object):
    """A StripeObject as a plain dict (v16 objects have no `.get`)."""
    if stripe_object is None:
        return {}
    return stripe_object.to_dict() if hasattr(stripe_object, "to_dict") else dict(stripe_object)


def _order_for_stripe_object(metadata, *, session_id=None, payment_intent_id=None):
    order_id = _plain(metadata).get("order_id")
    if order_id:
        order = Order.objects.filter(public_id=order_id).first()
        if order:
            return order
    if session_id:
        order = Order.objects.filter(stripe_checkout_session_id=session_id).first()
        if order:
            return order
    if payment_intent_id:
        payment = Payment.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
        if payment:
            return payment.order
        return Order.objects.filter(stripe_payment_intent_id=payment_intent_id).first()
    return None


def _stripe_object_or_none(retrieve, object_id, *params):
    """Stripe's copy of an object, or None when Stripe has no such object (an event or a link
    for another account's or a deleted object): the caller treats it as matching no order."""
    try:
        return retrieve(object_id, *params)
    except stripe.InvalidRequestError as error:
        if error.code == "resource_missing":
            return None
        raise


def settle_checkout_session(session_id, *, source):
    """Act on a Checkout Session as Stripe reports it *now* (never on a webhook's copy).

    Returns the order, or None when the session belongs to no order here.
    """
    session = _stripe_object_or_none(
        get_client().v1.checkout.sessions.retrieve, session_id, {"expand": ["payment_intent"]}
    )
    order = None
    if session is not None:
        order = _order_for_stripe_object(session.metadata, session_id=session.id)
    if order is None:
        log.warning("Checkout Session %s (%s) matches no order", session_id, source)
        return None
    if session.status == "complete" and session.payment_status == "paid":
        return record_card_payment(order, session.payment_intent, source=source)
    if session.status == "expired" and session.id == order.stripe_checkout_session_id:
        expire_order(order, note=f"Checkout Session expired ({source})")
    return order


def record_card_payment(order, intent, *, source):
    """Record a succeeded PaymentIntent once, then confirm the seats (or refund if none left).

    The unique PaymentIntent id on Payment and the order row lock make this idempotent.
    """
    amount = intent.amount_received
    currency = intent.currency.upper()
    seats_gone = duplicate = False
    with transaction.atomic():
        order = _locked(order)
        if Payment.objects.filter(stripe_payment_intent_id=intent.id).exists():
            return order
        # A second, different payment for an order already paid (two tabs, two sessions).
        duplicate = order.payments.filter(status=Payment.Status.SUCCEEDED).exists()
        payment = Payment.objects.create(
            order=order,
            method=Order.Method.CARD,
            amount=amount,
            currency=currency,
            stripe_payment_intent_id=intent.id,
            stripe_charge_id=intent.latest_charge or "",
        )
        _record(
            "payment.received",
            payment,
            after={"amount": amount, "currency": currency, "order": order.reference},
            note=source,
        )
        if duplicate:
            flag_order(
                order,
                f"Paid twice: the second payment ({intent.id}, "
                f"{format_money(amount, currency)}) is refunded automatically.",
            )
        elif amount != order.total or currency != order.currency:
            order.stripe_payment_intent_id = intent.id
            flag_order(
                order,
                f"Stripe took {format_money(amount, currency)} but the order is for "
                f"{order.money(order.total)}. The seats were not confirmed: check the order "
                "and refund or confirm by hand.",
            )
            return order
        else:
            order.stripe_payment_intent_id = intent.id
            order.payment_method = Order.Method.CARD
            order.paid_at = timezone.now()
            _change_status(
                order,
                Order.Status.PAID,
                note=f"Card payment {intent.id} ({source})",
                extra_fields=["payment_method", "paid_at", "stripe_payment_intent_id"],
            )
            try:
                with transaction.atomic():
                    _courses().confirm_registrations(order.booking)
            except seats_unavailable_error():
                seats_gone = True
            except registration_error() as error:
                # The money is in: keep the payment and let staff decide (confirm or refund).
                flag_order(order, f"Paid, but the seats could not be confirmed: {error}")
            else:
                transaction.on_commit(lambda: _queue_document_email("receipt", order.pk))
    if duplicate:
        # After the commit: the refund row must exist before Stripe is asked.
        refund_order(
            order,
            amount,
            origin=Refund.Origin.DUPLICATE,
            reason="The order was already paid; nobody is charged twice.",
        )
        return Order.objects.get(pk=order.pk)
    if seats_gone:
        refund_unavailable_seats(order)
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
    _record("order.flagged", order, actor=actor, note=reason)
    order_id = order.pk
    transaction.on_commit(
        lambda: _send(
            f"Order {order.reference} needs attention",
            "payments/email/staff_attention.txt",
            {"order": Order.objects.get(pk=order_id), "reason": reason},
            finance_emails(),
        )
    )


def report_unmatched_stripe_event(event, reason):
    """A signed Stripe event that matches no order here: on its record, in the audit log, and
    in Finance's inbox (the Orders screen lists such events too). Nothing else changes."""
    _record("webhook.unmatched", event, note=reason)
    event_id = event.pk
    transaction.on_commit(
        lambda: _send(
            "Stripe sent an event we cannot match to an order",
            "payments/email/staff_unmatched_stripe_event.txt",
            {"event": WebhookEvent.objects.get(pk=event_id), "reason": reason},
            finance_emails(),
        )
    )


def resolve_attention(order, *, actor, note=""):
    with transaction.atomic():
        order = _locked(order)
        order.needs_attention = False
        order.save(update_fields=["needs_attention", "updated_at"])
        _record("order.attention_resolved", order, actor=actor, note=note)
    return order


def refund_unavailable_seats(order):
    """A payment arrived after the hold expired and the seats went to others: give it back."""
    with transaction.atomic():
        _courses().release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="paid after the seats were gone"
        )
    try:
        refund = refund_order(
            order,
            Order.objects.get(pk=order.pk).refundable_amount,
            origin=Refund.Origin.NO_SEAT,
            reason="The payment arrived after the seat hold expired and the event was full.",
        )
    except PaymentError as error:
        with transaction.atomic():
            flag_order(
                _locked(order),
                f"Paid after the seats were gone, and the automatic refund failed: {error} "
                "Refund it by hand.",
            )
        return None
    order.refresh_from_db()
    context = {"order": order, "refund": refund}
    _send(
        f"Your payment for {order.event.title} has been refunded",
        "payments/email/refund_no_seat.txt",
        context,
        [order.email],
    )
    _send(
        f"Automatic refund: order {order.reference} paid after its seats were gone",
        "payments/email/staff_refund_no_seat.txt",
        context,
        finance_emails(),
    )
    return refund


def expire_order(order, *, note, actor=None):
    """An unpaid card order whose checkout ended: release its seats."""
    with transaction.atomic():
        order = _locked(order)
        if order.status != Order.Status.PENDING or order.payment_method == Order.Method.INVOICE:
            return order
        if order.payments.filter(status=Payment.Status.SUCCEEDED).exists():
            return order
        _change_status(order, Order.Status.EXPIRED, actor=actor, note=note)
        _courses().release_registrations(
            order.booking, outcome=ReleaseOutcome.EXPIRED, reason="payment expired", actor=actor
        )
    return order


def fail_async_payment(session_id):
    """A delayed payment (bank debit) failed after checkout: cancel and tell the buyer."""
    session = _stripe_object_or_none(get_client().v1.checkout.sessions.retrieve, session_id)
    if session is None:
        return None
    order = _order_for_stripe_object(session.metadata, session_id=session.id)
    if order is None or session.payment_status == "paid":
        return order
    with transaction.atomic():
        order = _locked(order)
        if order.status != Order.Status.PENDING:
            return order
        _change_status(order, Order.Status.CANCELLED, note="The bank payment failed")
        _courses().release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="payment failed"
        )
        order_id = order.pk
        transaction.on_commit(
            lambda: _send(
                "Your bank payment did not go through",
                "payments/email/async_payment_failed.txt",
                {"order": Order.objects.get(pk=order_id)},
                [order.email],
            )
        )
    return order


def record_dispute(dispute):
    """A cardholder disputed a charge: staff must answer in Stripe's dashboard."""
    intent_id = dispute.get("payment_intent")
    if intent_id:
        # Re-read the intent from Stripe so a forged or stale event cannot flag an order.
        intents = get_client().v1.payment_intents
        if _stripe_object_or_none(intents.retrieve, intent_id) is None:
            intent_id = None
    order = _order_for_stripe_object({}, payment_intent_id=intent_id)
    if order is None:
        log.warning("Dispute %s matches no order", dispute.get("id"))
        return None
    with transaction.atomic():
        order = _locked(order)
        flag_order(
            order,
            f"The card payment was disputed ({dispute.get('reason', 'no reason given')}, "
            f"{format_money(dispute.get('amount', 0), dispute.get('currency', order.currency))}). "
            "Respond in the Stripe dashboard before the deadline.",
        )
    return order


# -- refunds ---------------------------------------------------------------------------------


def refund_order(order, amount, *, actor=None, reason="", origin=Refund.Origin.STAFF):
    """Refund part or all of what was paid. Card refunds go through Stripe with an idempotency
    key; the order's state then follows Stripe's answer and its `charge.refunded` webhook."""
    try:
        amount = int(amount)
    except (TypeError, ValueError):
        raise PaymentError("Enter the amount to refund in cents, e.g. 2500 for 25.00.") from None
    if amount <= 0:
        raise PaymentError("Enter an amount above zero.")
    with transaction.atomic():
        order = _locked(order)
        refundable = order.refundable_amount
        if amount > refundable:
            raise PaymentError(
                f"The most you can refund is {order.money(refundable)} (paid "
                f"{order.money(order.amount_paid)}, already refunded or pending "
                f"{order.money(order.amount_refunded + order.amount_refund_pending)})."
            )
        payment = (
            order.payments.filter(status=Payment.Status.SUCCEEDED).order_by("-created_at").first()
        )
        refund = Refund.objects.create(
            order=order,
            payment=payment,
            amount=amount,
            currency=order.currency,
            origin=origin,
            reason=reason[:255],
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        _record(
            "refund.requested",
            refund,
            actor=actor,
            after={"amount": amount, "order": order.reference},
            note=reason,
        )
    if payment.method != Order.Method.CARD or not payment.stripe_payment_intent_id:
        # Invoice payments are returned by bank transfer outside the system; staff record it.
        _settle_refund(refund, Refund.Status.SUCCEEDED, actor=actor)
        return refund
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
            f"Stripe refused the refund ({message}). Nothing was refunded."
        ) from error
    _apply_stripe_refund(refund.order, stripe_refund, actor=actor)
    refund.refresh_from_db()
    return refund


def _apply_stripe_refund(order, stripe_refund, *, actor=None):
    """Match a Stripe refund to its row (by id, else by our key in its metadata) and settle it."""
    stripe_refund = _plain(stripe_refund)
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
                reason="Refunded in the Stripe dashboard",
            )
            _record("refund.requested", refund, after={"amount": refund.amount}, note="Stripe")
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
        if refund.status == status:
            return refund
        before = refund.status
        refund.status = status
        refund.failure_message = failure
        refund.save(update_fields=["status", "failure_message"])
        _record(
            "refund.status_changed",
            refund,
            actor=actor,
            before={"status": before},
            after={"status": status},
            note=failure,
        )
        if status == Refund.Status.SUCCEEDED:
            _order_follows_refunds(refund.order, actor=actor)
    return refund


def _order_follows_refunds(order, *, actor=None):
    """Paid -> partially refunded -> refunded, by what is kept (paid minus refunded) against
    the order total; a full refund gives the seats (and access) back."""
    order = _locked(order)
    refunded = order.amount_refunded
    paid = order.amount_paid
    if refunded <= 0:
        return
    if order.status == Order.Status.PENDING:
        # A flagged payment (wrong amount) that staff gave back: nothing stays sold.
        if refunded >= paid:
            _change_status(order, Order.Status.CANCELLED, actor=actor, note="Payment refunded")
            _courses().release_registrations(
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
        _change_status(order, target, actor=actor, note=f"Refunded {order.money(refunded)}")
    if target == Order.Status.REFUNDED:
        _courses().release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="refunded", actor=actor
        )


def sync_refunds_from_charge(charge_id):
    """`charge.refunded`: read the charge and its refunds from Stripe and mirror them."""
    charges = get_client().v1.charges
    charge = _stripe_object_or_none(charges.retrieve, charge_id, {"expand": ["refunds"]})
    order = None
    if charge is not None:
        order = _order_for_stripe_object({}, payment_intent_id=charge.payment_intent)
    if order is None:
        log.warning("Charge %s matches no order", charge_id)
        return None
    for stripe_refund in charge.refunds.data:
        _apply_stripe_refund(order, stripe_refund)
    return order


def cancellation_refund_amount(order, registration_amount, *, now=None):
    """An attendee's refund for cancelling, by the event's policy (full, minus a fee, none)."""
    now = now or timezone.now()
    policy = EventPaymentSettings.for_event(order.event)
    starts = order.event.starts_at
    if not starts or not order.subtotal:
        return 0
    # The seat's share of what was actually paid, discounts included.
    paid_share = registration_amount * order.total // order.subtotal
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
    seat_amount = registration.unit_price + registration.add_on_total()
    amount = min(cancellation_refund_amount(order, seat_amount), order.refundable_amount)
    if amount <= 0:
        _record(
            "refund.not_due",
            order,
            actor=actor,
            note=f"{registration.attendee_name} cancelled; the policy gives no refund now.",
        )
        return None
    return refund_order(
        order,
        amount,
        actor=actor,
        origin=Refund.Origin.CANCELLATION,
        reason=f"{registration.attendee_name} cancelled",
    )


# -- invoices --------------------------------------------------------------------------------


def choose_invoice_payment(order, *, po_number, billing_name, billing_address, actor=None):
    """Pay later by invoice: the seats are confirmed now and the PDF invoice is emailed."""
    if not payment_options(order)["invoice"]:
        raise PaymentError("Invoice payment is not offered for this event. Please pay by card.")
    if not billing_name.strip() or not billing_address.strip():
        raise PaymentError("Enter the name and postal address the invoice should go to.")
    ensure_payable(order)
    _forget_open_checkout(order)
    policy = EventPaymentSettings.for_event(order.event)
    today = timezone.localdate()
    due = today + timedelta(days=policy.invoice_due_days)
    with transaction.atomic():
        order = _locked(order)
        ensure_payable(order)
        order.payment_method = Order.Method.INVOICE
        order.po_number = po_number.strip()
        order.billing_name = billing_name.strip()
        order.billing_address = billing_address.strip()
        order.invoice_due_date = due
        order.save()
        _record(
            "order.invoice_chosen",
            order,
            actor=actor,
            after={"po_number": order.po_number, "due": due.isoformat()},
        )
        try:
            with transaction.atomic():
                _courses().confirm_registrations(order.booking, actor=actor)
        except seats_unavailable_error() as error:
            raise PaymentError(
                "Your seat hold has expired and the event is now full. Nothing was invoiced."
            ) from error
        except registration_error() as error:
            raise PaymentError(str(error)) from error
        transaction.on_commit(lambda: _queue_document_email("invoice", order.pk))
    return order


def mark_invoice_paid(order, *, actor, reference="", amount=None):
    """Finance records the money that arrived for an invoice (a Payment row), then a receipt."""
    with transaction.atomic():
        order = _locked(order)
        if order.payment_method != Order.Method.INVOICE:
            raise PaymentError("Only invoice orders are marked paid by hand.")
        if order.status != Order.Status.PENDING:
            raise PaymentError(f"This order is already {order.get_status_display().lower()}.")
        due = order.total - order.amount_paid
        amount = due if amount in (None, "") else int(amount)
        if amount != due:
            raise PaymentError(
                f"Record the full amount due, {order.money(due)}; part payments are not supported."
            )
        payment = Payment.objects.create(
            order=order,
            method=Order.Method.INVOICE,
            amount=amount,
            currency=order.currency,
            reference=reference[:200],
            recorded_by=actor,
        )
        _record("payment.received", payment, actor=actor, after={"amount": amount}, note=reference)
        order.paid_at = timezone.now()
        _change_status(
            order, Order.Status.PAID, actor=actor, note="Invoice paid", extra_fields=["paid_at"]
        )
        transaction.on_commit(lambda: _queue_document_email("receipt", order.pk))
    return order


def process_overdue_invoices(*, now=None):
    """Remind before the due date; release the seats of invoices still unpaid after it."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    reminded = released = 0
    pending = Order.objects.filter(
        status=Order.Status.PENDING,
        payment_method=Order.Method.INVOICE,
        invoice_due_date__isnull=False,
    ).select_related("event")
    for order in pending:
        policy = EventPaymentSettings.for_event(order.event)
        remind_on = order.invoice_due_date - timedelta(days=policy.invoice_reminder_days_before_due)
        release_after = order.invoice_due_date + timedelta(days=policy.invoice_release_grace_days)
        if order.invoice_reminder_sent_at is None and today >= remind_on:
            _send_invoice_reminder(order, now=now)
            reminded += 1
        elif (
            order.invoice_reminder_sent_at is not None
            and today > release_after
            and now - order.invoice_reminder_sent_at >= timedelta(days=1)
        ):
            _release_unpaid_invoice(order)
            released += 1
    return {"reminded": reminded, "released": released}


def _send_invoice_reminder(order, *, now):
    with transaction.atomic():
        order = _locked(order)
        if order.invoice_reminder_sent_at:
            return
        order.invoice_reminder_sent_at = now
        order.save(update_fields=["invoice_reminder_sent_at", "updated_at"])
        _record("invoice.reminder_sent", order)
        invoice = order.documents.filter(kind=FinanceDocument.Kind.INVOICE).first()
        order_id = order.pk
        transaction.on_commit(
            lambda: _send(
                f"Reminder: invoice {invoice.number if invoice else order.reference} is due",
                "payments/email/invoice_reminder.txt",
                {"order": Order.objects.get(pk=order_id), "invoice": invoice},
                [order.email],
            )
        )


def _release_unpaid_invoice(order):
    with transaction.atomic():
        order = _locked(order)
        if order.status != Order.Status.PENDING:
            return
        _change_status(order, Order.Status.CANCELLED, note="Invoice unpaid after its due date")
        _courses().release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="invoice unpaid"
        )
        order_id = order.pk
        transaction.on_commit(
            lambda: _send(
                f"Your registration for {order.event.title} was released",
                "payments/email/invoice_released.txt",
                {"order": Order.objects.get(pk=order_id)},
                [order.email],
            )
        )


# -- documents -------------------------------------------------------------------------------


DOCUMENT_PREFIX = {FinanceDocument.Kind.RECEIPT: "R", FinanceDocument.Kind.INVOICE: "INV"}


def _next_number(kind, year):
    """Take the next number for the kind and year under a row lock: numbers have no gaps,
    because a failed render rolls the counter back with the document."""
    try:
        with transaction.atomic():
            DocumentCounter.objects.get_or_create(kind=kind, year=year)
    except IntegrityError:
        pass
    counter = DocumentCounter.objects.select_for_update().get(kind=kind, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def issue_document(order, kind, *, now=None):
    """The order's receipt or invoice, numbered the first time it is asked for, with its PDF.

    Taking the number and creating the row is one short transaction under the counter's row
    lock; the PDF is rendered after it, so concurrent payments do not queue behind a render.
    A render that fails leaves the numbered row without a file, and the next call renders the
    same number: the sequence never has a gap.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = _locked(order)
        document = order.documents.filter(kind=kind).first()
        if document is None:
            year = now.year
            sequence = _next_number(kind, year)
            number = f"{DOCUMENT_PREFIX[kind]}-{year}-{sequence:05d}"
            amount = order.total if kind == FinanceDocument.Kind.INVOICE else order.amount_paid
            document = FinanceDocument.objects.create(
                order=order,
                kind=kind,
                year=year,
                sequence=sequence,
                number=number,
                amount=amount,
                currency=order.currency,
                issued_at=now,
            )
            _record("document.issued", document, after={"number": number, "amount": amount})
    if not document.file:
        document = render_document_file(document)
    return document


def render_document_file(document):
    """Render and store the PDF of a numbered document (once)."""
    from cms.pdf import render_pdf, sha256_hex

    order = document.order
    pdf = render_pdf(
        "payments/pdf/document.html",
        {
            "kind": document.kind,
            "title": document.get_kind_display(),
            "number": document.number,
            "issued_on": timezone.localdate(document.issued_at),
            "order": order,
            "lines": list(order.line_items.all()),
            "payments": list(order.payments.filter(status=Payment.Status.SUCCEEDED)),
            "amount": document.amount,
            "attendees": list(order.booking.registrations.all()),
            "organisation": organisation_details(),
        },
    )
    with transaction.atomic():
        document = FinanceDocument.objects.select_for_update().get(pk=document.pk)
        if not document.file:
            document.file.save(f"{document.number}.pdf", ContentFile(pdf), save=False)
            document.sha256 = sha256_hex(pdf)
            document.save(update_fields=["file", "sha256"])
    return document


def _queue_document_email(kind, order_id):
    """Render and email the document in its own task, after the payment has committed."""
    from payments import tasks

    task = tasks.send_receipt if kind == "receipt" else tasks.send_invoice
    task.delay(order_id)


def send_receipt(order_id):
    order = Order.objects.get(pk=order_id)
    document = issue_document(order, FinanceDocument.Kind.RECEIPT)
    with document.file.open("rb") as handle:
        content = handle.read()
    _send(
        f"Receipt {document.number} for {order.event.title}",
        "payments/email/receipt.txt",
        {"order": order, "document": document},
        [order.email],
        attachments=[(f"{document.number}.pdf", content, "application/pdf")],
    )


def send_invoice(order_id):
    order = Order.objects.get(pk=order_id)
    document = issue_document(order, FinanceDocument.Kind.INVOICE)
    with document.file.open("rb") as handle:
        content = handle.read()
    _send(
        f"Invoice {document.number} for {order.event.title}",
        "payments/email/invoice.txt",
        {"order": order, "document": document},
        [order.email],
        attachments=[(f"{document.number}.pdf", content, "application/pdf")],
    )


# -- reconciliation --------------------------------------------------------------------------


def reconcile_with_stripe(*, now=None, stale_after=timedelta(minutes=10)):
    """Settle orders whose Checkout Session finished at Stripe without a processed webhook,
    and expire the sessions of orders whose seat hold has ended."""
    if not card_payments_enabled():
        return {"checked": 0, "settled": 0, "expired": 0}
    now = now or timezone.now()
    checked = settled = expired = 0
    candidates = Order.objects.filter(
        status=Order.Status.PENDING, payment_method=Order.Method.CARD
    ).exclude(stripe_checkout_session_id="")
    client = get_client()
    for order in candidates.select_related("booking"):
        if order.updated_at > now - stale_after and not order.booking.hold_has_expired(now):
            continue
        checked += 1
        try:
            session = client.v1.checkout.sessions.retrieve(order.stripe_checkout_session_id)
        except stripe.StripeError as error:
            log.warning(
                "Reconciliation could not read %s: %s", order.stripe_checkout_session_id, error
            )
            continue
        if session.status == "open" and order.booking.hold_has_expired(now):
            try:
                client.v1.checkout.sessions.expire(session.id)
            except stripe.StripeError:
                continue  # Paid in the meantime: the next pass settles it.
            session = client.v1.checkout.sessions.retrieve(session.id)
        if session.status == "complete" and session.payment_status == "paid":
            settle_checkout_session(session.id, source="reconciliation")
            settled += 1
        elif session.status == "expired":
            expire_order(order, note="Checkout Session expired (reconciliation)")
            expired += 1
    return {"checked": checked, "settled": settled, "expired": expired}
