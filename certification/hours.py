"""Hour figures as shown to people: one headline total only where every body counts alike.

Pure functions on figures already computed (`certification.credits.body_hours` does the
rounding); the certificate model and the pages import them without importing the credit rules.
"""

import re
from decimal import Decimal

_LEADING_NUMBER = re.compile(r"^\s*(\d+)")


def _figure(credit):
    """(hours, minutes per credit hour) of a CreditResult or of a certificate's credit line."""
    if isinstance(credit, dict):
        minutes = credit.get("minutes_per_credit")
        if not minutes:
            # Lines issued before the unit was stored carry it only in words ("50-minute hours").
            found = _LEADING_NUMBER.match(str(credit.get("unit") or ""))
            minutes = int(found.group(1)) if found else credit.get("unit")
        return Decimal(str(credit.get("hours") or 0)), minutes
    return Decimal(credit.hours), credit.body.minutes_per_credit


def headline_hours(credits):
    """The one total to headline, or None when the bodies' figures or units differ.

    25.00 NBCC hours (50-minute hours) next to 21.00 APA hours (60-minute hours) have no honest
    single total: each body's figure is shown with its unit instead. Two bodies that both give
    6.00 sixty-minute hours headline 6.00. No credit lines: no headline.
    """
    figures = {_figure(credit) for credit in credits}
    if len(figures) != 1:
        return None
    return figures.pop()[0]
