"""Membership of the member site: what can be bought (plans), and each person's one record of
the periods they are a member for.

Every way of becoming a member adds a period to the person's one `Membership`: a year bought
or renewed, a year included with an event (the Training of Trainers conference), a year paid
by invoice. Periods are chained in the order they were granted, each starting when the one
before it ends (or when it was granted, if that is later), so two never overlap and a year is
never counted twice. A period has a `reference` naming what granted it (a registration, a
Stripe invoice, an order), unique, so the same grant arriving twice (a webhook redelivered, a
confirmation retried) adds nothing. Access to the members' pages and files is membership of
the plan's group, which `courses.services.membership` keeps in step with the periods.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cms.money import MoneyField, format_money


class MembershipPlan(models.Model):
    """Something staff sell: "Member site, 1 year, $120", optionally with agency seats."""

    name = models.CharField(max_length=120, help_text=_("As buyers see it, e.g. “Member site”."))
    description = models.TextField(
        blank=True, help_text=_("What a member gets, in a sentence or two, shown when buying.")
    )
    price = MoneyField(help_text=_("For one period, in the plan's currency, e.g. 120.00."))
    currency = models.CharField(max_length=3, default="USD")
    months = models.PositiveSmallIntegerField(
        default=12, help_text=_("How long one period of membership lasts, in months.")
    )
    agency_seats = models.PositiveSmallIntegerField(
        default=0,
        help_text=_("For an agency: how many staff one purchase covers (0: one person)."),
    )
    group = models.ForeignKey(
        "auth.Group",
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Members are in this group; it opens the members' pages."),
    )
    available = models.BooleanField(
        default=True, help_text=_("Offered for sale; existing members keep their periods.")
    )
    # The yearly Stripe Price the project creates once for this plan (never by hand).
    stripe_price_id = models.CharField(max_length=255, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def price_text(self):
        return format_money(self.price, self.currency)

    price_text.short_description = _("Price")


class Membership(models.Model):
    """A person's one membership record; its periods say when they are a member."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    group = models.ForeignKey("auth.Group", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(
        MembershipPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When access ends as things stand: the last period's end, or the grace period's.
    access_until = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    # Access kept past the periods while a failed renewal is retried (payments decides it).
    grace_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self):
        return f"Membership of {self.user}"

    def current_periods(self):
        return self.periods.filter(revoked_at__isnull=True)


class PeriodSource(models.TextChoices):
    EVENT = "event", _("Included with an event")
    PURCHASE = "purchase", _("Bought online")
    RENEWAL = "renewal", _("Renewed")
    INVOICE = "invoice", _("Paid by invoice")
    STAFF = "staff", _("Granted by staff")


class MembershipPeriod(models.Model):
    """One stretch of membership: `months` long, granted at `granted_at`, placed after the
    periods granted before it (see the module docstring)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="periods")
    source = models.CharField(max_length=20, choices=PeriodSource.choices)
    reference = models.CharField(
        max_length=120, unique=True, help_text=_("What granted it, e.g. registration:<id>.")
    )
    registration = models.ForeignKey(
        "courses.Registration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="membership_periods",
    )
    granted_at = models.DateTimeField()
    months = models.PositiveSmallIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["granted_at", "pk"]

    def __str__(self):
        return f"{self.get_source_display()}: {self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"
