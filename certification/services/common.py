"""What every CE service shares: the errors they raise and absolute links for emails and PDFs."""

from cms import links


class CEError(Exception):
    """A CE action that cannot be done; the message says why and what to do."""


class NotEligible(CEError):
    pass


# Re-exported: other CE modules and the badge build links with it.
absolute_url = links.absolute_url
