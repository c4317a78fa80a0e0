"""Money: an integer in the currency's minor units beside an ISO 4217 code. Never floats.

The one place that knows how many decimal places a currency has, how an amount reads to
people, and how a form's "450.00" becomes 45000 and back.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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
