"""Money reads alike everywhere, and forms turn "450.00" into minor units without floats."""

from decimal import Decimal

import pytest

from cms.money import decimals, format_money, to_major, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (45000, "USD", "$450.00"),
        (98550, "usd", "$985.50"),
        (-5000, "USD", "-$50.00"),
        (123456789, "EUR", "€1,234,567.89"),
        (1200, "JPY", "¥1,200"),
        (1999, "XYZ", "19.99 XYZ"),
        (0, "GBP", "£0.00"),
    ],
)
def test_amounts_read_with_the_currency_symbol_and_its_decimal_places(amount, currency, shown):
    assert format_money(amount, currency) == shown


def test_no_amount_reads_as_nothing():
    assert format_money(None, "USD") == ""
    assert format_money("", "USD") == ""


def test_major_and_minor_units_round_trip_without_floats():
    assert to_minor("450.00", "USD") == 45000
    assert to_minor("0.1", "USD") == 10
    assert to_minor(Decimal("19.995"), "USD") == 2000
    assert to_minor("1200", "JPY") == 1200
    assert to_major(45000, "USD") == Decimal("450.00")
    assert to_major(1200, "JPY") == Decimal("1200")
    assert decimals("JPY") == 0 and decimals("usd") == 2


@pytest.mark.parametrize("typed", ["", "abc", "1e400x", "NaN", "Infinity"])
def test_what_is_not_an_amount_is_refused(typed):
    with pytest.raises(ValueError):
        to_minor(typed, "USD")
