"""The notes shown after an account action (allauth's flash messages) are in the site's words.

allauth ships its own wording ("Password successfully changed.", "Successfully signed in as
..."); templates/account/messages/ and templates/mfa/messages/ replace it. Each test does what
a person does, follows the redirect, and reads the note on the page they land on.
"""

import html
import re

import pyotp
import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache

from cms.models import User
from tests.accounts_support import (
    PASSWORD,
    has_totp,
    link_in_email,
    log_in_with_totp,
    make_member,
    make_staff_with_totp,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a different long passphrase 77"  # noqa: S105 - test credential
MESSAGE = re.compile(r'<p class="message message--\w+" role="\w+">(.*?)</p>', re.S)

# allauth's stock wording, none of which may reach a page.
STOCK_WORDING = (
    "Successfully signed in",
    "You have signed out",
    "Password successfully",
    "Confirmation email sent",
    "You have confirmed",
    "Removed email address",
    "Authenticator app activated",
    "Authenticator app deactivated",
    "A new set of recovery codes has been generated",
)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts attempts (and used TOTP codes) in the cache; each test starts clean."""
    cache.clear()


def notes_on(response):
    """The flash messages as the person reads them on the page (HTML unescaped once)."""
    page = response.content.decode()
    for stock in STOCK_WORDING:
        assert stock not in page
    return [html.unescape(text) for text in MESSAGE.findall(page)]


def log_in(client, email, next_url="/accounts/profile/"):
    """Log in and land on a page, so the log-in note is read there and not carried over."""
    return client.post(
        f"/accounts/login/?next={next_url}", {"login": email, "password": PASSWORD}, follow=True
    )


def test_logging_in_says_who_you_are_logged_in_as(client):
    make_member(email="member@example.org", legal_name="Ada Member")

    response = log_in(client, "member@example.org")

    assert response.redirect_chain[-1][0] == "/accounts/profile/"
    assert notes_on(response) == ["You are logged in as Ada Member."]


def test_logging_out_says_so(client):
    make_member(email="member@example.org")
    log_in(client, "member@example.org")

    response = client.post("/accounts/logout/", {"next": "/accounts/login/"}, follow=True)

    assert "_auth_user_id" not in client.session
    assert notes_on(response) == ["You have logged out."]


def test_changing_the_password_says_to_use_the_new_one_next_time(client):
    member = make_member(email="member@example.org")
    log_in(client, "member@example.org")

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        follow=True,
    )

    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert notes_on(response) == ["Your password is changed. Use the new one next time you log in."]


def test_setting_a_first_password_says_how_to_log_in_next_time(client):
    member = User.objects.create_user(email="member@example.org", legal_name="Ada Member")
    EmailAddress.objects.create(user=member, email=member.email, primary=True, verified=True)
    assert not member.has_usable_password()
    client.force_login(member)

    response = client.post(
        "/accounts/password/set/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        follow=True,
    )

    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert notes_on(response) == [
        "Your password is set. Next time, log in with your email address and this password."
    ]


def test_adding_an_address_says_where_the_link_went_with_the_address_as_typed(client):
    make_member(email="member@example.org")
    log_in(client, "member@example.org")

    response = client.post(
        "/accounts/email/", {"action_add": "", "email": "o'brien@example.org"}, follow=True
    )

    assert [message.to for message in mail.outbox] == [["o'brien@example.org"]]
    # Escaped once by the page, not twice ("o&amp;#x27;brien" would show as "o&#x27;brien").
    assert notes_on(response) == [
        "We have sent a confirmation link to o'brien@example.org. Open it to confirm the "
        "address; if it has not arrived in a few minutes, look in your spam folder."
    ]


def test_logging_in_before_confirming_says_a_link_was_sent(client):
    make_member(email="new@example.org", verified=False)

    response = log_in(client, "new@example.org")

    assert "_auth_user_id" not in client.session
    assert "/accounts/confirm-email/" in mail.outbox[-1].body
    assert notes_on(response) == [
        "We have sent a confirmation link to new@example.org. Open it to confirm the "
        "address; if it has not arrived in a few minutes, look in your spam folder."
    ]


def test_opening_the_link_says_the_new_address_is_the_one_to_log_in_with(client):
    member = make_member(email="old@example.org")
    log_in(client, "old@example.org")
    client.post("/accounts/email/", {"action_add": "", "email": "new@example.org"}, follow=True)

    response = client.post(link_in_email(mail.outbox[-1]), follow=True)

    member.refresh_from_db()
    assert member.email == "new@example.org"
    assert notes_on(response) == [
        "Your address new@example.org is confirmed: you log in with it, and our emails go to it."
    ]


def test_keeping_the_current_address_says_the_new_one_is_dropped(client):
    member = make_member(email="old@example.org")
    log_in(client, "old@example.org")
    client.post("/accounts/email/", {"action_add": "", "email": "new@example.org"}, follow=True)

    response = client.post(
        "/accounts/email/", {"action_remove": "", "email": "new@example.org"}, follow=True
    )

    assert list(member.emailaddress_set.values_list("email", flat=True)) == ["old@example.org"]
    assert notes_on(response) == [
        "new@example.org is removed from your account, and we will not write to it."
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_turning_on_the_authenticator_says_what_log_in_asks_for_now(client):
    """Transactional: allauth adds these notes when the transaction commits."""
    member = make_member(email="member@example.org")
    log_in(client, "member@example.org")
    secret = client.get("/accounts/2fa/totp/activate/").context["form"].secret

    response = client.post(
        "/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()}, follow=True
    )

    assert has_totp(member)
    assert notes_on(response) == [
        "Two-factor authentication is on. From now on, log-in asks for a code from your "
        "authenticator app after your password.",
        "You have new recovery codes, and any older ones stop working. Save them somewhere "
        "safe, away from your phone.",
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_making_new_recovery_codes_says_the_old_ones_stop_working(client):
    """Transactional: allauth adds this note when the transaction commits."""
    member, secret = make_staff_with_totp(email="member@example.org", is_staff=False)
    log_in_with_totp(client, member.email, secret, next_url="/accounts/2fa/")

    response = client.post("/accounts/2fa/recovery-codes/generate/", follow=True)

    assert member.authenticator_set.filter(type="recovery_codes").exists()
    assert notes_on(response) == [
        "You have new recovery codes, and any older ones stop working. Save them somewhere "
        "safe, away from your phone."
    ]


def test_turning_off_the_authenticator_says_log_in_asks_only_for_the_password(client):
    member, secret = make_staff_with_totp(email="member@example.org", is_staff=False)
    log_in_with_totp(client, member.email, secret, next_url="/accounts/2fa/")

    response = client.post("/accounts/2fa/totp/deactivate/", follow=True)

    assert not has_totp(member)
    assert notes_on(response) == [
        "Two-factor authentication is off. Log-in now asks only for your password."
    ]
