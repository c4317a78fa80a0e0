"""Orders, payments, refunds, webhook events, discount codes and numbered finance documents.

Money is always an integer in minor units (cents) beside a three-letter currency code.
"""

import uuid

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cms.money import MoneyField, format_money

# Invoices and receipts are personal data: outside the web root, served by a checked view.
# (Migrations name `payments.models.private_storage`.)
from cms.storage import private_storage


class EventPaymentSettings(models.Model):
    """Per-event payment options that live in payments (courses never imports payments)."""

    event = models.OneToOneField(
        "courses.EventPage", on_delete=models.CASCADE, related_name="payment_settings"
    )
    invoice_payment_enabled = models.BooleanField(
        default=False,
        help_text=_("Let agencies choose to pay by invoice with a purchase-order number."),
    )
    invoice_due_days = models.PositiveIntegerField(
        default=30, help_text=_("Days after issue that an invoice falls due.")
    )
    invoice_reminder_days_before_due = models.PositiveIntegerField(
        default=7, help_text=_("A reminder goes out this many days before the due date.")
    )
    invoice_release_grace_days = models.PositiveIntegerField(
        default=3,
        help_text=_(
            "Seats of an unpaid invoice are released this many days after the due date "
            "(and never before the reminder has been sent)."
        ),
    )
    full_refund_days_before = models.PositiveIntegerField(
        default=14,
        help_text=_("Attendee cancellations at least this many days ahead: full refund."),
    )
    no_refund_days_before = models.PositiveIntegerField(
        default=3, help_text=_("Cancellations closer than this many days to the start: no refund.")
    )
    cancellation_fee = MoneyField(
        default=0,
        help_text=_(
            "In the event's currency, e.g. 50.00: kept from the refund between the two limits "
            "above."
        ),
    )

    class Meta:
        verbose_name = _("event payment settings")
        verbose_name_plural = _("event payment settings")

    def __str__(self):
        return f"Payment settings for {self.event}"

    @admin.display(description=_("cancellation fee"))
    def cancellation_fee_text(self):
        return format_money(self.cancellation_fee, self.event.currency)

    def clean(self):
        if self.no_refund_days_before > self.full_refund_days_before:
            raise ValidationError(
                {
                    "no_refund_days_before": _(
                        "The no-refund limit must be closer to the event than the full-refund "
                        "limit."
                    )
                }
            )

    @classmethod
    def for_event(cls, event):
        """The event's settings, or unsaved defaults when staff never changed them."""
        return cls.objects.filter(event=event).first() or cls(event=event)


class DiscountCode(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percentage off")
        FIXED = "fixed", _("Fixed amount off")

    code = models.CharField(max_length=40, help_text=_("What buyers type; not case-sensitive."))
    description = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERCENT)
    percent_off = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("1 to 100."),
    )
    amount_off = MoneyField(
        null=True,
        blank=True,
        help_text=_("In the code's currency, e.g. 25.00, for a fixed discount."),
    )
    currency = models.CharField(max_length=3, default="USD")
    event = models.ForeignKey(
        "courses.EventPage",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="discount_codes",
        help_text=_("Leave empty to allow the code for every event."),
    )
    ticket_type = models.ForeignKey(
        "courses.TicketType",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="discount_codes",
        help_text=_("Only this ticket type is discounted (leave empty for every ticket)."),
    )
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Orders that may use the code; empty for no limit.")
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Upper("code"), name="payments_discount_code_unique_ci"),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True)
                | (Q(percent_off__gte=1) & Q(percent_off__lte=100)),
                name="payments_discount_percent_range",
            ),
        ]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        self.code = self.code.strip().upper()
        self.currency = self.currency.upper()
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.kind == self.Kind.PERCENT:
            if self.percent_off is None or not 1 <= self.percent_off <= 100:
                errors["percent_off"] = _("Enter a percentage between 1 and 100.")
        elif self.amount_off is None or self.amount_off <= 0:
            errors["amount_off"] = _("Enter an amount above zero, e.g. 25.00.")
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            errors["valid_until"] = _("The code must end after it starts.")
        if self.ticket_type_id and self.event_id and self.ticket_type.event_id != self.event_id:
            errors["ticket_type"] = _("Choose a ticket type of the selected event.")
        if errors:
            raise ValidationError(errors)

    def describe(self):
        if self.kind == self.Kind.PERCENT:
            return _("%(percent)s%% off") % {"percent": self.percent_off}
        return _("%(amount)s off") % {"amount": format_money(self.amount_off or 0, self.currency)}


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    # The only moves an order's status may make (`payments.services.common.change_status`
    # refuses any other). An expired order may still be paid: a late card payment confirms
    # the seats when they are free, or is refunded.
    TRANSITIONS = {
        Status.PENDING: {Status.PAID, Status.EXPIRED, Status.CANCELLED},
        Status.EXPIRED: {Status.PAID},
        Status.PAID: {Status.PARTIALLY_REFUNDED, Status.REFUNDED},
        Status.PARTIALLY_REFUNDED: {Status.REFUNDED},
        Status.REFUNDED: set(),
        Status.CANCELLED: set(),
    }

    class Method(models.TextChoices):
        UNDECIDED = "", _("Not chosen yet")
        CARD = "card", _("Card (Stripe)")
        INVOICE = "invoice", _("Invoice")
        FREE = "free", _("No payment needed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    booking = models.OneToOneField(
        "courses.Booking", on_delete=models.PROTECT, related_name="order"
    )
    event = models.ForeignKey("courses.EventPage", on_delete=models.PROTECT, related_name="orders")
    purchaser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    email = models.EmailField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    payment_method = models.CharField(
        max_length=10, choices=Method.choices, default=Method.UNDECIDED, blank=True
    )
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.PositiveIntegerField(default=0)
    discount_amount = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    discount_code = models.ForeignKey(
        DiscountCode, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    stripe_checkout_session_id = models.CharField(max_length=255, blank=True, db_index=True)
    checkout_attempts = models.PositiveIntegerField(default=0)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    needs_attention = models.BooleanField(default=False, db_index=True)
    attention_reason = models.TextField(blank=True)
    po_number = models.CharField(_("purchase-order number"), max_length=100, blank=True)
    billing_name = models.CharField(max_length=200, blank=True)
    billing_address = models.TextField(blank=True)
    invoice_due_date = models.DateField(null=True, blank=True)
    invoice_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Staff capabilities (cms.access.Perm); roles are groups that hold them.
        permissions = [
            ("view_finance", "Can see orders, payments, invoices and revenue"),
            ("refund_order", "Can refund orders and mark invoices paid"),
        ]
        ordering = ["-created_at"]

    def __str__(self):
        return f"Order {self.reference}"

    @property
    def reference(self):
        """A short code people can read out on the phone."""
        return str(self.public_id).split("-")[0].upper()

    def money(self, amount):
        return format_money(amount, self.currency)

    @property
    def amount_paid(self):
        """Money received, flagged payments included (they are refundable all the same)."""
        return (
            self.payments.filter(status=Payment.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"]
            or 0
        )

    def counted_payments(self):
        """Payments that pay for the order: succeeded, and not flagged (a card payment of the
        wrong amount or currency never counts as a success)."""
        return self.payments.filter(status=Payment.Status.SUCCEEDED).exclude(
            attempt__flagged_reason__gt=""
        )

    @property
    def amount_refunded(self):
        return (
            self.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or 0
        )

    @property
    def amount_refund_pending(self):
        return (
            self.refunds.filter(status=Refund.Status.PENDING).aggregate(s=Sum("amount"))["s"] or 0
        )

    @property
    def refundable_amount(self):
        return max(0, self.amount_paid - self.amount_refunded - self.amount_refund_pending)

    @property
    def is_settled(self):
        return self.status in {
            self.Status.PAID,
            self.Status.PARTIALLY_REFUNDED,
            self.Status.REFUNDED,
        }


class OrderLineItem(models.Model):
    class Kind(models.TextChoices):
        TICKET = "ticket", _("Ticket")
        ADDON = "addon", _("Add-on")
        DISCOUNT = "discount", _("Discount")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="line_items")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField(default=1)
    # Negative for a discount line, so the lines always sum to the order total.
    unit_amount = models.IntegerField()
    ref = models.CharField(max_length=100, blank=True)
    ticket_type = models.ForeignKey(
        "courses.TicketType", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.description

    @property
    def amount(self):
        return self.unit_amount * self.quantity


class PaymentAttempt(models.Model):
    """One Stripe Checkout Session for an order: what it asked for and what came of it.

    `created -> paid | failed | expired`, then `paid -> refunded`. A paid attempt whose amount
    or currency differs from what was expected carries a `flagged_reason` and never counts as
    the order's payment: the buyer's correct payment confirms the order and this one is
    refunded.
    """

    class Status(models.TextChoices):
        CREATED = "created", _("Checkout started")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")

    TRANSITIONS = {
        Status.CREATED: {Status.PAID, Status.FAILED, Status.EXPIRED},
        Status.PAID: {Status.REFUNDED},
        Status.FAILED: set(),
        Status.EXPIRED: set(),
        Status.REFUNDED: set(),
    }

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="attempts")
    stripe_checkout_session_id = models.CharField(max_length=255, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    amount_expected = models.PositiveIntegerField()
    amount_received = models.PositiveIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    flagged_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"Checkout {self.stripe_checkout_session_id} ({self.status})"

    @property
    def is_flagged(self):
        return bool(self.flagged_reason)


class Payment(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    # A payment row records money that moved; it never changes status afterwards.
    TRANSITIONS = {Status.SUCCEEDED: set(), Status.FAILED: set()}

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    # The Checkout Session it was paid through (card payments), with its flag, if any.
    attempt = models.OneToOneField(
        PaymentAttempt,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment",
    )
    method = models.CharField(max_length=10, choices=Order.Method.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUCCEEDED)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    # Unique: the database itself refuses a second row for one Stripe payment.
    stripe_payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True)
    reference = models.CharField(
        max_length=200, blank=True, help_text=_("Bank transfer or cheque reference.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{format_money(self.amount, self.currency)} by {self.get_method_display()}"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Origin(models.TextChoices):
        STAFF = "staff", _("Staff")
        CANCELLATION = "cancellation", _("Attendee cancellation")
        NO_SEAT = "no_seat", _("Paid after the seats were gone")
        STRIPE = "stripe", _("Made in Stripe")
        DUPLICATE = "duplicate", _("Duplicate payment")
        WRONG_AMOUNT = "wrong_amount", _("Wrong amount paid")

    # Stripe may report a refund failed after it succeeded (the card was closed), and one we
    # recorded as failed (the request timed out) may turn out to have been made after all.
    TRANSITIONS = {
        Status.PENDING: {Status.SUCCEEDED, Status.FAILED},
        Status.SUCCEEDED: {Status.FAILED},
        Status.FAILED: {Status.SUCCEEDED},
    }

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    origin = models.CharField(max_length=15, choices=Origin.choices, default=Origin.STAFF)
    reason = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True, default=uuid.uuid4)
    stripe_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    failure_message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"Refund of {format_money(self.amount, self.currency)}"


class WebhookEvent(models.Model):
    """One Stripe event as received; the unique id makes a repeated delivery a no-op."""

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="webhook_events"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    deliveries = models.PositiveIntegerField(default=1)
    # Processing tries that raised, and the last error: kept until a try succeeds.
    failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.type} {self.stripe_event_id}"


class DocumentCounter(models.Model):
    """The last number used per kind and year; locked while a number is taken, so no gaps."""

    kind = models.CharField(max_length=10)
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="payments_counter_kind_year")
        ]

    def __str__(self):
        return f"{self.kind} {self.year}: {self.last_number}"


class FinanceDocument(models.Model):
    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt")
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit", _("Credit note")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A credit note documents one refund; receipts and invoices have none.
    refund = models.OneToOneField(
        "Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_note"
    )
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=30, unique=True)
    amount = models.IntegerField()
    currency = models.CharField(max_length=3)
    # Empty only between taking the number and storing the rendered PDF.
    file = models.FileField(storage=private_storage, upload_to="finance/%Y/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "year", "sequence"], name="payments_document_number"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.number}"


# The membership billing models live beside these, in the payments app.
from payments.membership_models import (  # noqa: E402, F401
    MembershipPayment,
    MembershipSeat,
    MemberSubscription,
)
