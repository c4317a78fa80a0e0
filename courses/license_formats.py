"""The shapes of license numbers, per jurisdiction, used to catch typing mistakes at
registration (before a CE roster is reported to a board, where entries cannot be edited).

The table is data: deployments can replace or extend it with the `COURSES_LICENSE_FORMATS`
setting, in the same shape as `DEFAULT_LICENSE_FORMATS`, when a board changes its numbering.
A jurisdiction without patterns accepts any plausible identifier.
"""

import re

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# code: (name, [(profession prefix label, regular expression)], example shown to the person)
DEFAULT_LICENSE_FORMATS = {
    "FL": (
        gettext_lazy("Florida"),
        [
            (gettext_lazy("Clinical social worker (SW)"), r"SW\d{3,7}"),
            (gettext_lazy("Psychologist (PY)"), r"PY\d{3,7}"),
            (gettext_lazy("Mental health counselor (MH)"), r"MH\d{3,7}"),
            (gettext_lazy("Marriage and family therapist (MT)"), r"MT\d{3,7}"),
            (gettext_lazy("Registered intern or other (digits only)"), r"\d{3,9}"),
        ],
        "SW1234, PY1234, MH1234, MT1234 or 123456",
    ),
    "OTHER_US": (gettext_lazy("Another U.S. state"), [], ""),
    "CANADA": (gettext_lazy("Canada"), [], ""),
    "OUTSIDE": (gettext_lazy("Outside the U.S. and Canada"), [], ""),
}

# Any identifier a board might issue: letters, digits, spaces, dots, dashes and slashes.
GENERIC_PATTERN = r"[A-Za-z0-9][A-Za-z0-9 ./-]{1,39}"


def license_formats():
    return getattr(settings, "COURSES_LICENSE_FORMATS", DEFAULT_LICENSE_FORMATS)


def jurisdiction_choices():
    return [(code, entry[0]) for code, entry in license_formats().items()]


def jurisdiction_name(code):
    entry = license_formats().get(code)
    return entry[0] if entry else code


def normalise_license_number(value):
    """Boards print numbers in capitals without spaces; people type them any way."""
    return re.sub(r"\s+", "", value or "").upper()


def license_number_error(jurisdiction, number):
    """The message to show when `number` cannot be a license of `jurisdiction`, else None."""
    entry = license_formats().get(jurisdiction)
    if entry is None:
        return _("Choose the jurisdiction that issued your license.")
    name, patterns, example = entry
    if not patterns:
        if re.fullmatch(GENERIC_PATTERN, number or ""):
            return None
        return _("Enter your license number using only letters, digits, dots, dashes or slashes.")
    if any(re.fullmatch(pattern, number or "") for _label, pattern in patterns):
        return None
    return _(
        "This doesn't look like a %(jurisdiction)s license number. "
        "Enter it as it appears on your license, for example %(example)s."
    ) % {"jurisdiction": name, "example": example}
