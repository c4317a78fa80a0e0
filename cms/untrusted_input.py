"""Values typed into URLs, query strings and forms by anyone: refused with a 4xx, never a 500.

PostgreSQL cannot store or compare text holding a NUL character, and SQLite's integers end at
2**63 - 1, so a NUL or a huge number that reaches a query is a server error. Views read such
values through the helpers here; `cms.views.bad_request` shows an `UnacceptableInput` message
to the person.
"""

import uuid

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.utils.translation import gettext_lazy as _

UNACCEPTABLE_CHARACTER = _("Your request contained a character we cannot accept.")
# The largest value a 64-bit signed integer column (SQLite, PostgreSQL bigint) holds.
MAX_ID = 2**63 - 1


class UnacceptableInput(BadRequest):
    """A 400 whose message is written for the person who sent the request."""


def refuse_nul(value):
    """`value` unchanged, or a 400 when it holds a NUL character."""
    if value and "\x00" in value:
        raise UnacceptableInput(UNACCEPTABLE_CHARACTER)
    return value


def refuse_nul_in(query_dict):
    """`query_dict` (request.GET or POST) unchanged, or a 400 when any value holds a NUL."""
    for _name, values in query_dict.lists():
        for value in values:
            refuse_nul(value)
    return query_dict


def query_text(request, name, default=""):
    """A query-string value as text the database accepts (a 400 for a NUL)."""
    return refuse_nul(request.GET.get(name, default))


def parse_id(value):
    """A database id from a query string or form field, or None when it cannot be one."""
    value = str(value or "").strip()
    if not value.isdecimal() or not value.isascii():
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def parse_uuid(value):
    """A public id (UUID) from a query string, form field or header, or None."""
    try:
        return uuid.UUID(str(value or ""))
    except ValueError:
        return None


class ModelMultipleIdChoiceField(forms.ModelMultipleChoiceField):
    """Checkboxes of database rows; a value that cannot be an id is an invalid choice before
    any query (SQLite raises OverflowError for a number past 64 bits in an `__in` lookup)."""

    def clean(self, value):
        for choice in value if isinstance(value, list | tuple) else ():
            if parse_id(choice) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": choice},
                )
        return super().clean(value)


class IdConverter:
    """`<id:name>` in a route: a database id, 1 to 2**63 - 1; anything else is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value):
        number = parse_id(value)
        if number is None:
            raise ValueError(value)
        return number

    def to_url(self, value):
        return str(int(value))


class TextConverter:
    """`<text:name>` in a route: one path segment, like `<str:...>`; a NUL in it is a 400."""

    regex = "[^/]+"

    def to_python(self, value):
        return refuse_nul(value)

    def to_url(self, value):
        return value


class RefuseNulMiddleware:
    """A NUL in the path, the query string or a form field is a 400 before any view runs.

    The views that read such values refuse them themselves; this also covers Wagtail's screens
    and any view written later. Only URL-encoded forms are read here: upload bodies (tus,
    multipart files) and JSON are left to their views. The body is read first so that a view
    expecting JSON can still read `request.body` after the form was parsed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refuse_nul(request.path)
        refuse_nul_in(request.GET)
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            request.body  # noqa: B018 - keep the raw body readable after parsing the form
            refuse_nul_in(request.POST)
        return self.get_response(request)
