"""What every CE service shares: the errors they raise and absolute links for emails and PDFs."""

from django.conf import settings


class CEError(Exception):
    """A CE action that cannot be done; the message says why and what to do."""


class NotEligible(CEError):
    pass


def absolute_url(path):
    return f"{settings.SITE_URL}{path}"
