"""Money: an integer in the currency's minor units beside an ISO 4217 code. Never floats.

The one place that knows how many decimal places a currency has, how an amount reads to
people, and how a form's "450.00" becomes 45000 and back.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.core import validators
from django.db import models

# Currencies the organisation sells in: code -> (symbol shown before the amount, decimals).
CURRENCIES = {
    "USD": ("$", 2),
    "CAD": ("CA$", 2),
    "AUD": ("A$", 2),
    "NZD": ("NZ$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "SEK": ("SEK ", 2),
    "NOK": ("NOK ", 2),
    "DKK": ("DKK ", 2),
    "CHF": ("CHF ", 2),
    "JPY": ("¥", 0),
}
CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]
DEFAULT_DECIMALS = 2


def decimals(currency):
    """How many minor-unit digits the currency has (2 for USD, 0 for JPY)."""
    return CURRENCIES.get((currency or "").upper(), (None, DEFAULT_DECIMALS))[1]


def to_major(amount_minor, currency):
    """45000, "USD" -> Decimal("450.00"): for form fields and spreadsheets."""
    places = decimals(currency)
    return (Decimal(int(amount_minor)) / (10**places)).quantize(Decimal(1).scaleb(-places))


def to_minor(amount_major, currency):
    """ "450.00" (or a Decimal), "USD" -> 45000; raises ValueError for anything else."""
    try:
        value = Decimal(str(amount_major).strip())
    except (InvalidOperation, ValueError) as error:
        raise ValueError(f"Not an amount: {amount_major!r}") from error
    if not value.is_finite():
        raise ValueError(f"Not an amount: {amount_major!r}")
    minor = value.scaleb(decimals(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(minor)


def format_money(amount_minor, currency):
    """12345, "USD" -> "$123.45"; -500 -> "-$5.00": the one way money is shown to people."""
    if amount_minor in (None, ""):
        return ""
    code = (currency or "").upper()
    amount = int(amount_minor)
    places = decimals(code)
    major = to_major(abs(amount), code)
    text = f"{major:,.{places}f}"
    sign = "-" if amount < 0 else ""
    if code in CURRENCIES:
        return f"{sign}{CURRENCIES[code][0]}{text}"
    return f"{sign}{text} {code}".strip()


# -- forms and model fields: staff type amounts in the currency's units ------------------------

DEFAULT_CURRENCY = "USD"


class MoneyFormField(forms.DecimalField):
    """An amount typed in the currency's units ("450.00"; whole yen for JPY) and cleaned to
    minor units (45000). Shown back in the currency's units, never in cents.

    The currency decides the decimal places; a form that knows it calls `set_currency`
    (`MoneyFormMixin` does it from the object being edited)."""

    def __init__(self, *, currency=DEFAULT_CURRENCY, **kwargs):
        for ignored in ("max_digits", "decimal_places"):
            kwargs.pop(ignored, None)
        kwargs.setdefault("min_value", 0)
        super().__init__(max_digits=None, decimal_places=decimals(currency), **kwargs)
        self.set_currency(currency)

    def set_currency(self, currency):
        self.currency = (currency or DEFAULT_CURRENCY).upper()
        self.decimal_places = decimals(self.currency)
        self.validators = [
            v for v in self.validators if not isinstance(v, validators.DecimalValidator)
        ] + [validators.DecimalValidator(None, self.decimal_places)]
        self.widget.attrs.update(
            {"step": str(Decimal(1).scaleb(-self.decimal_places)), "inputmode": "decimal"}
        )

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return to_major(value, self.currency)
        return value

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else to_minor(amount, self.currency)

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != initial
        except forms.ValidationError:
            return True


class MoneyField(models.PositiveIntegerField):
    """An amount in the currency's minor units (45000 for $450.00), edited in its units."""

    def formfield(self, **kwargs):
        kwargs.pop("max_value", None)
        return super().formfield(**{**kwargs, "form_class": MoneyFormField})


class MoneyFormMixin:
    """For a model form with MoneyFields: amounts use the currency of the object edited
    (`money_currency`, by default its own `currency` or its event's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.money_currency()
        for field in self.fields.values():
            if isinstance(field, MoneyFormField):
                field.set_currency(currency)

    def money_currency(self):
        if "currency" in self.fields and self.data.get(self.add_prefix("currency")):
            return self.data[self.add_prefix("currency")]  # chosen in this very form
        instance = getattr(self, "instance", None)
        own = getattr(instance, "currency", "")
        if own:
            return own
        event = getattr(instance, "event", None) if getattr(instance, "event_id", None) else None
        return getattr(event, "currency", "") or DEFAULT_CURRENCY


class MoneyModelForm(MoneyFormMixin, forms.ModelForm):
    pass
