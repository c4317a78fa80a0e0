"""What an event sells and asks: ticket types, add-ons and registration questions, edited
inline on the event page."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel
from wagtail.models import Orderable

from cms.money import MoneyField

from .events import EventPage


class TicketType(Orderable):
    """A way in with its own price and, optionally, its own share of the event's seats."""

    event = ParentalKey(EventPage, on_delete=models.CASCADE, related_name="ticket_types")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    price = MoneyField(default=0, help_text=_("In the event's currency, e.g. 450.00."))
    early_bird_price = MoneyField(
        null=True, blank=True, help_text=_("In the event's currency, e.g. 395.00.")
    )
    early_bird_until = models.DateTimeField(null=True, blank=True)
    sale_starts_at = models.DateTimeField(null=True, blank=True)
    sale_ends_at = models.DateTimeField(null=True, blank=True)
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Leave empty to share the event's seats only.")
    )
    requires_approval = models.BooleanField(
        default=False, help_text=_("Staff approve each booking before it can be paid.")
    )
    access_code = models.CharField(
        max_length=60, blank=True, help_text=_("If set, buyers must enter it (e.g. student rate).")
    )
    member_price = MoneyField(
        null=True,
        blank=True,
        help_text=_(
            "In the event's currency, e.g. 395.00; members pay this instead. Below the price. "
            "Members see it at once, with no access code; others see it with a link to join."
        ),
    )
    members_only = models.BooleanField(
        default=False,
        help_text=_(
            "Only members of the member site can book it (at its price); others see it, "
            "not selectable, with a link to join."
        ),
    )
    min_per_order = models.PositiveIntegerField(default=1)
    max_per_order = models.PositiveIntegerField(default=10)

    panels = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("price")]),
        FieldPanel("description"),
        FieldRowPanel([FieldPanel("early_bird_price"), FieldPanel("early_bird_until")]),
        FieldRowPanel([FieldPanel("member_price"), FieldPanel("members_only")]),
        FieldRowPanel([FieldPanel("sale_starts_at"), FieldPanel("sale_ends_at")]),
        FieldRowPanel([FieldPanel("capacity"), FieldPanel("requires_approval")]),
        FieldPanel("access_code"),
        FieldRowPanel([FieldPanel("min_per_order"), FieldPanel("max_per_order")]),
    ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.min_per_order < 1 or self.max_per_order < self.min_per_order:
            raise ValidationError(
                {"max_per_order": _("The maximum must be at least the minimum (and both ≥ 1).")}
            )
        if self.early_bird_price is not None and not self.early_bird_until:
            raise ValidationError({"early_bird_until": _("Set when the early-bird price ends.")})
        if self.member_price is not None and self.members_only:
            raise ValidationError(
                {
                    "member_price": _(
                        "A members-only ticket has one price, the members' price: put it in "
                        "Price and leave this empty."
                    )
                }
            )
        if self.member_price is not None and self.member_price >= (self.price or 0):
            raise ValidationError(
                {"member_price": _("The member price must be below the price, or left empty.")}
            )

    def current_price(self, now=None):
        """The price that applies now: the early-bird price until its deadline."""
        now = now or timezone.now()
        if (
            self.early_bird_price is not None
            and self.early_bird_until
            and now < self.early_bird_until
        ):
            return self.early_bird_price
        return self.price

    def price_for(self, *, member, now=None):
        """What one seat costs a member (or not) now. A member pays the member price, or the
        early-bird price while it applies if that is lower: the two are not added up, and a
        member never pays more than anyone else would."""
        price = self.current_price(now)
        if member and self.member_price is not None:
            return min(price, self.member_price)
        return price

    @property
    def for_members(self):
        """Whether membership changes who may book this ticket or what it costs."""
        return self.members_only or self.member_price is not None

    def on_sale(self, now=None):
        now = now or timezone.now()
        if self.sale_starts_at and now < self.sale_starts_at:
            return False
        return not (self.sale_ends_at and now >= self.sale_ends_at)

    @property
    def is_free(self):
        return self.price == 0 and not self.early_bird_price


class AddOn(Orderable):
    """Something bought with a seat, one per attendee: CE credits, a printed manual."""

    event = ParentalKey(EventPage, on_delete=models.CASCADE, related_name="add_ons")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    price = MoneyField(default=0, help_text=_("In the event's currency, e.g. 50.00."))
    grants_ce = models.BooleanField(
        default=False,
        help_text=_("Choosing this add-on is how an attendee asks for CE credit."),
    )

    panels = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("price")]),
        FieldPanel("description"),
        FieldPanel("grants_ce"),
    ]

    def __str__(self):
        return self.name


class QuestionKind(models.TextChoices):
    TEXT = "text", _("Short answer")
    TEXTAREA = "textarea", _("Long answer")
    CHOICE = "choice", _("One of a list")
    CHECKBOX = "checkbox", _("Yes / no")


class RegistrationQuestion(Orderable):
    """A question staff ask every attendee of one event."""

    event = ParentalKey(EventPage, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(max_length=200)
    help_text = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=QuestionKind.choices, default=QuestionKind.TEXT)
    choices = models.TextField(blank=True, help_text=_("For “one of a list”: one choice a line."))
    required = models.BooleanField(default=False)

    panels = [
        FieldPanel("label"),
        FieldPanel("help_text"),
        FieldRowPanel([FieldPanel("kind"), FieldPanel("required")]),
        FieldPanel("choices"),
    ]

    def __str__(self):
        return self.label

    @property
    def choice_list(self):
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        super().clean()
        if self.kind == QuestionKind.CHOICE and not self.choice_list:
            raise ValidationError({"choices": _("List at least one choice, one a line.")})
