"""How allauth talks to people on this site: the wording of its errors and the missing username."""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse

# allauth's own wording ("Invalid login", "Try again later") does not tell people what to do
# next; these say it.
ERROR_MESSAGES = {
    **DefaultAccountAdapter.error_messages,
    "email_taken": (
        "An account with this email address already exists (email addresses are not "
        "case-sensitive). Log in instead, or reset your password if you have forgotten it."
    ),
    "email_password_mismatch": (
        "The email address or password is not correct. Check both and try again, or reset "
        "your password."
    ),
    "too_many_login_attempts": (
        "Too many failed log-in attempts. Wait five minutes and try again, or reset your "
        "password to get back in straight away."
    ),
    "rate_limited": "Too many attempts in a short time. Wait a minute and try again.",
    "incorrect_password": "That password is not correct. Type your current password.",
    "enter_current_password": (
        "That password is not correct. Type your current password, or reset it with "
        "\u201cForgot your password?\u201d."
    ),
}


class AccountAdapter(DefaultAccountAdapter):
    error_messages = ERROR_MESSAGES

    def populate_username(self, request, user):
        """The user model has no username: email is the login."""
        return None

    def get_email_verification_redirect_url(self, email_address):
        """Someone already logged in has just confirmed a new address: show them their addresses."""
        if self.request.user.is_authenticated:
            return reverse("account_email")
        return super().get_email_verification_redirect_url(email_address)
