"""Membership by subscription (Stripe Billing): joining through Checkout in subscription mode,
renewals, failed renewals, cancelling, and Stripe's customer portal.

Stripe is the source of truth for money; each handler re-reads the object from Stripe before
acting, so events may arrive in any order, twice, or late (after a broker outage, through the
stored-event path in `stripe_events`). What a paid invoice buys is a period added through
`courses.services.membership.add_period` under the reference `stripe-invoice:<id>`, so the
same invoice reported by `invoice.paid`, by `checkout.session.completed` and by the return
page adds one period.

- A failed renewal (`invoice.payment_failed`) keeps access for `GRACE` after the paid period
  ends while Stripe retries the card; the person is emailed at once with how to update it.
- Stripe ending the subscription unpaid ends the grace: access ends now, with an email.
- Cancelling (in the portal) keeps access until the paid period ends; nothing is refunded.
"""

import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.links import absolute_reverse
from cms.locking import lock_one
from courses.models import MembershipPlan, PeriodSource
from courses.services import membership as periods
from payments.models import MembershipPayment, MemberSubscription
from payments.stripe_client import card_payments_enabled, get_client

from .common import PaymentError, change_status, record, send_membership_email
from .membership_documents import queue_membership_receipt
from .membership_seats import grant_paid_period, holders
from .stripe_objects import plain, stripe_object_or_none

log = logging.getLogger(__name__)

# Access kept after the paid period while Stripe retries a failed renewal. Stripe's default
# smart retries run for up to two weeks; then it ends the subscription.
GRACE = timedelta(days=14)
# How long a membership Checkout Session stays open (Stripe allows 30 minutes to 24 hours).
CHECKOUT_LIFETIME = timedelta(hours=1)
# A press still waiting for Stripe to open its Checkout Session longer than this has died.
# (The SDK's own timeout is 80 s, with two retries.)
OPENING_TIMEOUT = timedelta(minutes=5)

STRIPE_STATUS = {
    "active": MemberSubscription.Status.ACTIVE,
    "trialing": MemberSubscription.Status.ACTIVE,
    "past_due": MemberSubscription.Status.PAST_DUE,
    "unpaid": MemberSubscription.Status.PAST_DUE,
    "incomplete": MemberSubscription.Status.PAST_DUE,
    "canceled": MemberSubscription.Status.CANCELED,
    "incomplete_expired": MemberSubscription.Status.CANCELED,
}


class AlreadySubscribed(PaymentError):
    """The person already has a live subscription: manage it rather than buy a second."""


def live_subscription(user):
    """The person's subscription that has not ended (at most one), or None."""
    return (
        MemberSubscription.objects.filter(user=user, status__in=MemberSubscription.LIVE)
        .select_related("plan")
        .first()
    )


def _stamp(value):
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


def _recurring(plan):
    """Stripe's `recurring` for the plan's length: yearly when it is whole years."""
    if plan.months % 12 == 0:
        return {"interval": "year", "interval_count": plan.months // 12}
    return {"interval": "month", "interval_count": plan.months}


# -- joining ------------------------------------------------------------------------------------


def start_membership_checkout(user, plan, *, success_url, cancel_url, now=None):
    """Open (or reuse) a Stripe Checkout Session in subscription mode for `plan`; return its
    URL. Refused when the person already has a subscription (`AlreadySubscribed`)."""
    now = now or timezone.now()
    if not card_payments_enabled():
        raise PaymentError(
            _("Paying by card is not available at the moment. You can ask for an invoice below.")
        )
    if not plan.available:
        raise PaymentError(_("This plan is no longer offered. Please choose another one."))
    existing = live_subscription(user)
    if existing is not None and existing.status != MemberSubscription.Status.CHECKOUT:
        raise AlreadySubscribed(
            _("You already have a membership subscription. Manage it from your membership page.")
        )
    if existing is not None:
        url = _open_session_url(existing)
        if url:
            return url
    subscription = _new_checkout(user, plan, now)
    params = {
        "mode": "subscription",
        "line_items": [
            {
                "price_data": {
                    "currency": plan.currency.lower(),
                    "unit_amount": plan.price,
                    "product_data": {"name": plan.name},
                    "recurring": _recurring(plan),
                },
                "quantity": 1,
            }
        ],
        "client_reference_id": str(subscription.public_id),
        "metadata": {"membership_subscription": str(subscription.public_id)},
        "subscription_data": {"metadata": {"membership_subscription": str(subscription.public_id)}},
        "success_url": f"{success_url}?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": cancel_url,
        "expires_at": int((now + CHECKOUT_LIFETIME).timestamp()),
    }
    customer = known_customer(user)
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = user.email
    try:
        session = get_client().v1.checkout.sessions.create(
            params, {"idempotency_key": f"membership-checkout-{subscription.public_id}"}
        )
    except stripe.StripeError as error:
        log.warning("Membership Checkout for %s failed: %s", user.pk, error)
        with transaction.atomic():
            change_status(lock_one(MemberSubscription, subscription.pk), "abandoned")
        raise PaymentError(
            _(
                "We could not reach the card processor, and nothing was charged. Please try "
                "again in a minute."
            )
        ) from error
    stored = MemberSubscription.objects.filter(
        pk=subscription.pk, status=MemberSubscription.Status.CHECKOUT
    ).update(stripe_checkout_session_id=session.id)
    if not stored:
        # Given up meanwhile (an expiry, a crash-recovery press): this session must not be
        # paid for a row that is no longer live.
        _expire_quietly(session.id)
        raise PaymentError(_("Your membership checkout was interrupted. Please try again."))
    return session.url


def _expire_quietly(session_id):
    try:
        get_client().v1.checkout.sessions.expire(session_id)
    except stripe.StripeError as error:
        log.warning("Could not expire membership Checkout Session %s: %s", session_id, error)


def known_customer(user):
    """The Stripe customer of the person's earlier subscription, so Stripe keeps one record."""
    return (
        MemberSubscription.objects.filter(user=user)
        .exclude(stripe_customer_id="")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )


def _new_checkout(user, plan, now):
    """The subscription row, `checkout`, written before Stripe is called; the database's one
    live subscription per person refuses a second started at the same moment."""
    try:
        with transaction.atomic():
            subscription = MemberSubscription.objects.create(
                user=user, plan=plan, amount=plan.price, currency=plan.currency, created_at=now
            )
            record("membership.checkout_started", subscription, actor=user)
    except IntegrityError as error:
        raise PaymentError(
            _("Your membership checkout is already open in another window. Please finish it there.")
        ) from error
    return subscription


def _open_session_url(subscription):
    """The Checkout page still open for a started subscription, or None after marking it
    abandoned (expired, or never created).

    A row with no session yet is another press still waiting for Stripe (a second tab, a
    double click on a slow connection): it is left alone, so one Checkout opens, unless it is
    older than OPENING_TIMEOUT (its request died before storing the session)."""
    if not subscription.stripe_checkout_session_id:
        if subscription.created_at > timezone.now() - OPENING_TIMEOUT:
            raise PaymentError(
                _(
                    "Your membership checkout is already opening in another window. Please "
                    "finish it there, or try again in a minute."
                )
            )
        _abandon(subscription)
        return None
    session = stripe_object_or_none(
        get_client().v1.checkout.sessions.retrieve, subscription.stripe_checkout_session_id
    )
    if session is not None and session.status == "open":
        return session.url
    if session is not None and session.status == "complete":
        settle_membership_checkout(session.id)
        raise AlreadySubscribed(
            _("Your membership payment has just gone through. See your membership page.")
        )
    _abandon(subscription)
    return None


def _abandon(subscription):
    with transaction.atomic():
        subscription = lock_one(MemberSubscription, subscription.pk)
        if subscription.status == MemberSubscription.Status.CHECKOUT:
            change_status(subscription, MemberSubscription.Status.ABANDONED)


def abandon_membership_checkout(session_id):
    """`checkout.session.expired`: the person left Checkout without paying."""
    subscription = MemberSubscription.objects.filter(stripe_checkout_session_id=session_id).first()
    if subscription is not None:
        _abandon(subscription)
    return subscription


def settle_membership_checkout(session_id):
    """`checkout.session.completed` (or the return page): bind the Stripe subscription and
    customer, then settle its first invoice. Returns the subscription, or None if unknown."""
    session = stripe_object_or_none(get_client().v1.checkout.sessions.retrieve, session_id)
    if session is None or session.mode != "subscription":
        return None
    subscription = _ours(session.metadata, session_id=session.id)
    if subscription is None or session.status != "complete" or not session.subscription:
        return subscription
    subscription = _bind(subscription, session.subscription, session.customer)
    if session.invoice:
        settle_membership_invoice(session.invoice)
    return sync_member_subscription(session.subscription) or subscription


def _ours(metadata, *, session_id="", subscription_id=""):
    """Our subscription row for Stripe's objects: by its Stripe ids, else by the public id we
    put in the metadata (an event may arrive before the one that told us the ids)."""
    rows = MemberSubscription.objects.select_related("plan", "user")
    if subscription_id:
        found = rows.filter(stripe_subscription_id=subscription_id).first()
        if found is not None:
            return found
    if session_id:
        found = rows.filter(stripe_checkout_session_id=session_id).first()
        if found is not None:
            return found
    public_id = (metadata or {}).get("membership_subscription")
    try:
        return rows.filter(public_id=public_id).first() if public_id else None
    except (ValueError, TypeError):  # a malformed id in a signed payload
        return None


def _bind(subscription, subscription_id, customer_id):
    with transaction.atomic():
        subscription = lock_one(MemberSubscription, subscription.pk)
        if not subscription.stripe_subscription_id:
            subscription.stripe_subscription_id = subscription_id
            subscription.stripe_customer_id = customer_id or ""
            subscription.save(
                update_fields=["stripe_subscription_id", "stripe_customer_id", "updated_at"]
            )
    return subscription


# -- invoices: first year and renewals ---------------------------------------------------------


def _invoice_subscription(invoice):
    """The subscription id and metadata an invoice names (Stripe's `parent` since 2025)."""
    parent = getattr(invoice, "parent", None)
    details = getattr(parent, "subscription_details", None) if parent else None
    if details is None:
        return "", {}
    metadata = getattr(details, "metadata", None)
    return details.subscription or "", (metadata.to_dict() if metadata else {})


def _invoice_payment_intent(invoice):
    intent = getattr(invoice, "payment_intent", None)
    if intent:
        return intent if isinstance(intent, str) else intent.id
    payments = getattr(invoice, "payments", None)
    for entry in getattr(payments, "data", None) or []:
        payment = getattr(entry, "payment", None)
        if payment is not None and getattr(payment, "payment_intent", None):
            return payment.payment_intent
    return ""


def settle_membership_invoice(invoice_id, *, now=None):
    """`invoice.paid` / `invoice.payment_failed`: record the payment of one period and what it
    leads to. Returns the MembershipPayment, or None for an invoice of no subscription here."""
    now = now or timezone.now()
    invoice = stripe_object_or_none(get_client().v1.invoices.retrieve, invoice_id)
    if invoice is None:
        return None
    subscription_id, metadata = _invoice_subscription(invoice)
    subscription = _ours(metadata, subscription_id=subscription_id) if subscription_id else None
    if subscription is None:
        return None
    subscription = _bind(subscription, subscription_id, invoice.customer)
    if invoice.status == "paid":
        return _record_paid_invoice(subscription, invoice, now)
    if invoice.status == "open" and (invoice.attempt_count or 0) > 0:
        return _record_failed_invoice(subscription, invoice, now)
    return None


def _payment_row(subscription, invoice, status):
    reason = (
        MembershipPayment.Reason.FIRST
        if invoice.billing_reason == "subscription_create"
        else MembershipPayment.Reason.RENEWAL
    )
    payment, _created = MembershipPayment.objects.get_or_create(
        stripe_invoice_id=invoice.id,
        defaults={
            "user": subscription.user,
            "plan": subscription.plan,
            "subscription": subscription,
            "method": MembershipPayment.Method.CARD,
            "reason": reason,
            "status": status,
            "amount": invoice.amount_due,
            "currency": invoice.currency.upper(),
        },
    )
    return payment


def _record_paid_invoice(subscription, invoice, now):
    paid_at = _stamp(getattr(invoice.status_transitions, "paid_at", None)) or now
    with transaction.atomic():
        subscription = lock_one(MemberSubscription, subscription.pk)
        payment = _payment_row(subscription, invoice, MembershipPayment.Status.PAID)
        payment = lock_one(MembershipPayment, payment.pk)
        if payment.status != MembershipPayment.Status.PAID:
            payment.paid_at = paid_at
            payment.amount = invoice.amount_paid
            change_status(
                payment, MembershipPayment.Status.PAID, extra_fields=["paid_at", "amount"]
            )
        elif payment.paid_at is None:
            payment.paid_at = paid_at
            payment.save(update_fields=["paid_at"])
        payment.stripe_payment_intent_id = _invoice_payment_intent(invoice)
        payment.save(update_fields=["stripe_payment_intent_id"])
        source = (
            PeriodSource.PURCHASE
            if payment.reason == MembershipPayment.Reason.FIRST
            else PeriodSource.RENEWAL
        )
        grant_paid_period(
            payment, source=source, reference=f"stripe-invoice:{invoice.id}", now=paid_at
        )
        for holder in holders(payment):
            periods.end_grace(holder, now=now)
        if subscription.status == MemberSubscription.Status.PAST_DUE:
            change_status(subscription, MemberSubscription.Status.ACTIVE, note="renewal paid")
        elif subscription.status == MemberSubscription.Status.CHECKOUT:
            change_status(subscription, MemberSubscription.Status.ACTIVE, note="first year paid")
        queue_membership_receipt(payment)
    return payment


def _record_failed_invoice(subscription, invoice, now):
    with transaction.atomic():
        subscription = lock_one(MemberSubscription, subscription.pk)
        payment = _payment_row(subscription, invoice, MembershipPayment.Status.FAILED)
        if payment.status != MembershipPayment.Status.FAILED:
            return payment  # paid meanwhile: a late failure report changes nothing
        error = getattr(invoice, "last_finalization_error", None)
        payment.failure_message = getattr(error, "message", "") or _("The card was declined.")
        payment.save(update_fields=["failure_message", "updated_at"])
        if subscription.status in (
            MemberSubscription.Status.ACTIVE,
            MemberSubscription.Status.CHECKOUT,
        ):
            change_status(subscription, MemberSubscription.Status.PAST_DUE, note="renewal failed")
        grace_until = None
        for holder in holders(payment):
            grace_until = periods.start_grace(holder, GRACE, now=now)
        send_membership_email(
            "payments/email/membership_renewal_failed",
            subscription.user,
            {
                "subscription": subscription,
                "payment": payment,
                "grace_until": grace_until,
                "manage_url": absolute_reverse("payments:membership"),
            },
            key=f"payments:membership-failed:{invoice.id}:{invoice.attempt_count}",
        )
    return payment


# -- the subscription's own state --------------------------------------------------------------


def sync_member_subscription(subscription_id, *, now=None):
    """`customer.subscription.updated` / `.deleted`: follow Stripe's status, period end and
    cancel-at-period-end. Stripe ending an unpaid subscription ends the grace period."""
    now = now or timezone.now()
    remote = stripe_object_or_none(get_client().v1.subscriptions.retrieve, subscription_id)
    if remote is None:
        return None
    metadata = remote.metadata.to_dict() if remote.metadata else {}
    subscription = _ours(metadata, subscription_id=subscription_id)
    if subscription is None:
        return None
    subscription = _bind(subscription, subscription_id, remote.customer)
    items = (plain(remote).get("items") or {}).get("data") or []
    with transaction.atomic():
        subscription = lock_one(MemberSubscription, subscription.pk)
        was_cancelling = subscription.cancel_at_period_end
        subscription.cancel_at_period_end = bool(remote.cancel_at_period_end)
        if items:
            subscription.current_period_end = _stamp(items[0].get("current_period_end"))
        subscription.save(update_fields=["cancel_at_period_end", "current_period_end"])
        status = STRIPE_STATUS.get(remote.status, subscription.status)
        was_past_due = subscription.status == MemberSubscription.Status.PAST_DUE
        if status == MemberSubscription.Status.CANCELED:
            _end(subscription, remote, now, unpaid=was_past_due)
        elif status != subscription.status and subscription.status in MemberSubscription.LIVE:
            change_status(subscription, status, note=f"Stripe: {remote.status}")
        if subscription.cancel_at_period_end and not was_cancelling:
            _tell_cancelled(subscription)
    return subscription


def _end(subscription, remote, now, *, unpaid):
    if subscription.status not in MemberSubscription.LIVE:
        return
    subscription.ended_at = _stamp(remote.ended_at) or now
    change_status(subscription, MemberSubscription.Status.CANCELED, extra_fields=["ended_at"])
    if unpaid:
        # Stripe gave up on the card: the grace period ends now, and with it access.
        last = subscription.payments.order_by("-created_at", "-pk").first()
        for holder in holders(last) if last else [subscription.user]:
            periods.end_grace(holder, now=now)
        send_membership_email(
            "payments/email/membership_lapsed_unpaid",
            subscription.user,
            {"subscription": subscription, "join_url": absolute_reverse("payments:membership")},
            key=f"payments:membership-ended-unpaid:{subscription.pk}",
        )


def _tell_cancelled(subscription):
    membership = getattr(subscription.user, "membership", None)
    send_membership_email(
        "payments/email/membership_cancelled",
        subscription.user,
        {
            "subscription": subscription,
            "access_until": membership.access_until if membership else None,
            "manage_url": absolute_reverse("payments:membership"),
        },
        key=f"payments:membership-cancelled:{subscription.pk}:{subscription.current_period_end}",
    )


def customer_portal_url(user, *, return_url):
    """A Stripe customer-portal session for the person, to update the card or cancel."""
    customer = known_customer(user)
    if not customer or not card_payments_enabled():
        raise PaymentError(_("There is no card subscription to manage on this account."))
    try:
        session = get_client().v1.billing_portal.sessions.create(
            {"customer": customer, "return_url": return_url}
        )
    except stripe.StripeError as error:
        log.warning("Customer portal for %s failed: %s", user.pk, error)
        raise PaymentError(
            _("We could not reach the card processor. Please try again in a minute.")
        ) from error
    return session.url


def plans_on_sale():
    return MembershipPlan.objects.filter(available=True).order_by("price")
