"""How allauth talks to people on this site: the wording of its errors, the missing username,
and not asking for a password typed a moment ago."""

import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter

# allauth keeps the session's log-ins here; pinned with allauth in constraints.txt.
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core import context
from allauth.utils import build_absolute_uri
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

# allauth's own wording ("Invalid login", "Try again later") does not tell people what to do
# next; these say it. There is deliberately no "email taken" wording: no page says whether an
# address has an account (ACCOUNT_PREVENT_ENUMERATION); the owner is told by email instead.
ERROR_MESSAGES = {
    **DefaultAccountAdapter.error_messages,
    "email_password_mismatch": _(
        "The email address or password is not correct. Check both and try again, or reset "
        "your password."
    ),
    "too_many_login_attempts": _(
        "Too many failed log-in attempts. Wait five minutes and try again, or reset your "
        "password to get back in straight away."
    ),
    "rate_limited": _("Too many attempts in a short time. Wait a minute and try again."),
    "incorrect_password": _("That password is not correct. Type your current password."),
    "enter_current_password": _(
        "That password is not correct. Type your current password, or reset it with "
        "\u201cForgot your password?\u201d."
    ),
}


class AccountAdapter(DefaultAccountAdapter):
    error_messages = ERROR_MESSAGES

    def is_reauthentication_required(self, *, app, **kwargs):
        """A password (or code) typed at log-in within the reauthentication window is not asked
        for again: a new staff member setting up their authenticator straight after logging
        in was asked to "Confirm Access" with the password they had just typed."""
        if _logged_in_within(account_settings.REAUTHENTICATION_TIMEOUT):
            return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def populate_username(self, request, user):
        """The user model has no username: email is the login."""
        return None

    def send_account_already_exists_mail(self, email):
        """Someone signed up with an address that has an account: tell its owner how to get in."""
        request = context.request
        self.send_mail(
            "account/email/account_already_exists",
            email,
            {
                "login_url": build_absolute_uri(request, reverse("account_login")),
                "password_reset_url": build_absolute_uri(
                    request, reverse("account_reset_password")
                ),
            },
        )

    def get_email_verification_redirect_url(self, email_address):
        """Someone already logged in has just confirmed a new address: show them their addresses."""
        if self.request.user.is_authenticated:
            return reverse("account_email")
        return super().get_email_verification_redirect_url(email_address)


def _logged_in_within(seconds):
    request = context.request
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return bool(records) and time.time() - records[-1]["at"] < seconds
