"""Paying for membership of the member site: a person's Stripe subscription to a plan, and
each year paid (by card through the subscription, or by an invoice Finance marks paid).

What a payment buys is a `courses.MembershipPeriod` (courses keeps the periods and the access
they give); these rows are the money side: what Stripe says about the subscription, and one
`MembershipPayment` per Stripe invoice or Finance invoice, with its numbered receipt.
(Imported by `payments.models`, so the models belong to the payments app.)
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cms.money import format_money
from cms.storage import private_storage


class MemberSubscription(models.Model):
    """A person's subscription to a membership plan, renewed by Stripe Billing.

    `checkout` while the person is on Stripe's Checkout page; then `active`, `past_due` while
    a renewal is unpaid (Stripe retries the card; the person keeps access for a grace period),
    `canceled` once Stripe ends it. `abandoned`: the Checkout Session expired unpaid. A person
    has at most one subscription that is not ended (a database constraint), so a second
    Checkout can never start beside a live one.
    """

    class Status(models.TextChoices):
        CHECKOUT = "checkout", _("Checkout started")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Renewal payment failed")
        CANCELED = "canceled", _("Ended")
        ABANDONED = "abandoned", _("Checkout not completed")

    LIVE = (Status.CHECKOUT, Status.ACTIVE, Status.PAST_DUE)

    TRANSITIONS = {
        Status.CHECKOUT: {Status.ACTIVE, Status.PAST_DUE, Status.CANCELED, Status.ABANDONED},
        Status.ACTIVE: {Status.PAST_DUE, Status.CANCELED},
        Status.PAST_DUE: {Status.ACTIVE, Status.CANCELED},
        Status.CANCELED: set(),
        Status.ABANDONED: set(),
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member_subscriptions"
    )
    plan = models.ForeignKey(
        "courses.MembershipPlan", on_delete=models.PROTECT, related_name="subscriptions"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CHECKOUT)
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # What Stripe last said: the end of the period paid for, and whether it ends there.
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    amount = models.PositiveIntegerField(help_text=_("Charged each period, in minor units."))
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status__in=["checkout", "active", "past_due"]),
                name="payments_one_live_member_subscription",
            )
        ]

    def __str__(self):
        return f"{self.plan} for {self.user} ({self.get_status_display()})"

    def price_text(self):
        return format_money(self.amount, self.currency)

    @property
    def renews(self):
        """True when Stripe will charge again at the period end."""
        return self.status == self.Status.ACTIVE and not self.cancel_at_period_end


class MembershipPayment(models.Model):
    """One period of membership paid for (or asked to be invoiced): a Stripe invoice of the
    subscription, or an invoice Finance marks paid. The year starts when it is paid."""

    class Status(models.TextChoices):
        INVOICED = "invoiced", _("Invoiced, awaiting payment")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Payment failed")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS = {
        Status.INVOICED: {Status.PAID, Status.CANCELLED},
        # Stripe retries a failed renewal; a later try may succeed.
        Status.FAILED: {Status.PAID},
        Status.PAID: set(),
        Status.CANCELLED: set(),
    }

    class Method(models.TextChoices):
        CARD = "card", _("Card (Stripe)")
        INVOICE = "invoice", _("Invoice")

    class Reason(models.TextChoices):
        FIRST = "first", _("First period")
        RENEWAL = "renewal", _("Renewal")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="membership_payments"
    )
    plan = models.ForeignKey(
        "courses.MembershipPlan", on_delete=models.PROTECT, related_name="payments"
    )
    subscription = models.ForeignKey(
        MemberSubscription,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.FIRST)
    status = models.CharField(max_length=10, choices=Status.choices)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    stripe_invoice_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    failure_message = models.TextField(blank=True)
    # Who the invoice is made out to (an agency paying for a person, or the person).
    billing_name = models.CharField(max_length=200, blank=True)
    billing_address = models.TextField(blank=True)
    po_number = models.CharField(_("purchase-order number"), max_length=100, blank=True)
    invoice_number = models.CharField(max_length=30, null=True, blank=True, unique=True)
    invoice_file = models.FileField(storage=private_storage, upload_to="finance/%Y/", blank=True)
    receipt_number = models.CharField(max_length=30, null=True, blank=True, unique=True)
    receipt_file = models.FileField(storage=private_storage, upload_to="finance/%Y/", blank=True)
    marked_paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_reference = models.CharField(
        max_length=200, blank=True, help_text=_("Bank transfer or cheque reference.")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.plan} for {self.user}: {self.amount_text()} ({self.get_status_display()})"

    def amount_text(self):
        return format_money(self.amount, self.currency)

    @property
    def reference(self):
        return f"membership-payment:{self.pk}"


class MembershipSeat(models.Model):
    """One place in an agency's purchase of a plan with agency seats, given to a colleague by
    email: each period the purchase pays for is added to that colleague's own membership.
    The colleague's account is linked when one with the address exists, or when they sign up
    and confirm it."""

    subscription = models.ForeignKey(
        MemberSubscription, null=True, blank=True, on_delete=models.CASCADE, related_name="seats"
    )
    payment = models.ForeignKey(
        MembershipPayment, null=True, blank=True, on_delete=models.CASCADE, related_name="seats"
    )
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="membership_seats",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(subscription__isnull=False, payment__isnull=True)
                | Q(subscription__isnull=True, payment__isnull=False),
                name="payments_seat_of_one_purchase",
            ),
            models.UniqueConstraint(
                Lower("email"), "subscription", name="payments_seat_once_per_subscription"
            ),
            models.UniqueConstraint(
                Lower("email"), "payment", name="payments_seat_once_per_payment"
            ),
        ]

    def __str__(self):
        return f"Seat for {self.email}"
