"""Dates for people: calendar arithmetic and localized display (never `strftime` for display).

`strftime("%B %-d")` is English-only and glibc-only; Django's `date_format` follows the active
language and the project's formats.
"""

import calendar

from django.utils import timezone
from django.utils.formats import date_format


def add_months(moment, months):
    """The same day `months` later, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def long_date(value):
    """A date as people read it, "1 December 2026", in the active language and zone."""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = timezone.localtime(value)
    return date_format(value, "j F Y")


def long_datetime(value):
    """A moment as people read it, "1 December 2026, 9:30 a.m.", in the active zone."""
    return date_format(timezone.localtime(value), "j F Y, P")


def month_name(value):
    """A month as people read it, "December 2026", in the active language."""
    return date_format(value, "F Y")


def date_range(first, last):
    """Two days as one span, in the long style: "2–6 February 2026", "28 February –
    3 March 2026", "30 December 2026 – 2 January 2027"; one day alone when they are the same.

    Dates or datetimes (aware ones are read in the active zone, as `long_date` reads them).
    """
    first, last = _day(first), _day(last)
    if last is None or last == first:
        return long_date(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{date_format(first, 'j')}–{long_date(last)}"
    if first.year == last.year:
        return f"{date_format(first, 'j F')} – {long_date(last)}"
    return f"{long_date(first)} – {long_date(last)}"


def _day(value):
    if value is None:
        return None
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        value = timezone.localtime(value)
    return value.date() if hasattr(value, "date") else value


def staff_datetime(value):
    """A moment on staff screens, short and without ISO: "2 Dec 2026, 4:41 AM"."""
    return date_format(timezone.localtime(value), "j M Y, g:i A")
