"""Logging in and out, failed-login limits, password reset and change, email change."""

import re

import pytest
from django.core import mail
from django.core.cache import cache

from cms.models import AuditRecord, User
from tests.accounts_support import PASSWORD, link_in_email, make_member

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a different long passphrase 77"  # noqa: S105 - test credential


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts attempts in the cache; each test starts with a clean count."""
    cache.clear()


def log_in(client, email, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"login": email, "password": password, **extra})


def test_log_in_page_has_labelled_fields_and_a_log_in_button(client):
    html = client.get("/accounts/login/").content.decode()

    assert "<h1>Log in</h1>" in html
    assert '<label for="id_login">Email</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert '<button class="btn btn--primary" type="submit">Log in</button>' in html
    assert 'href="/accounts/password/reset/"' in html
    assert 'class="site-header"' in html


def test_log_in_and_log_out(client):
    member = make_member(email="Mixed.Case@Example.org", legal_name="Zoë Ñúñez")

    response = log_in(client, "mixed.case@EXAMPLE.org")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)
    page = client.get("/accounts/profile/").content.decode()
    assert "Signed in as <strong>Zoë Ñúñez</strong>" in page

    assert "<h1>Log out</h1>" in client.get("/accounts/logout/").content.decode()
    client.post("/accounts/logout/")

    assert "_auth_user_id" not in client.session
    page = client.get("/accounts/login/").content.decode()
    assert "You have logged out." in page
    assert "Signed in as" not in page


def test_wrong_password_says_what_to_do(client):
    make_member(email="member@example.org")

    response = log_in(client, "member@example.org", "not my password")
    html = response.content.decode()

    assert response.status_code == 200
    assert "The email address or password is not correct." in html
    assert "reset your password" in html
    assert "_auth_user_id" not in client.session


def test_repeated_failed_logins_are_refused_with_a_clear_message(client):
    make_member(email="member@example.org")
    for _attempt in range(5):
        log_in(client, "member@example.org", "guess")

    # Even the right password is refused while the limit lasts.
    response = log_in(client, "member@example.org")
    html = response.content.decode()

    assert "Too many failed log-in attempts." in html
    assert "Wait five minutes and try again, or reset your password" in html
    assert 'role="alert"' in html
    assert "_auth_user_id" not in client.session


def test_too_many_requests_page_is_styled_and_says_what_to_do(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    for _attempt in range(2):
        log_in(client, "someone@example.org", "guess")

    response = log_in(client, "someone@example.org", "guess")
    html = response.content.decode()

    assert response.status_code == 429
    assert "<h1>Too many attempts</h1>" in html
    assert "Wait a few minutes and try again" in html
    assert 'href="/accounts/password/reset/"' in html
    assert 'class="site-header"' in html


def test_password_reset_by_email(client):
    member = make_member(email="member@example.org")

    response = client.post(
        "/accounts/password/reset/", {"email": "MEMBER@example.org"}, follow=True
    )

    assert "We have sent you an email" in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["member@example.org"]
    assert mail.outbox[0].subject == "Reset your password"
    assert "your password stays as it is" in mail.outbox[0].body
    reset_path = link_in_email(mail.outbox[0])
    # The link redirects once to hide the key from referrers, then shows the form.
    form_page = client.get(reset_path, follow=True)
    assert "New Password" in form_page.content.decode()
    set_path = form_page.redirect_chain[-1][0]

    response = client.post(
        set_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True
    )

    assert "Your password is now changed." in response.content.decode()
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert AuditRecord.objects.filter(
        action="cms.user.password_reset", object_id=str(member.pk)
    ).exists()
    # The old link cannot be used twice.
    assert "invalid" in client.get(set_path).content.decode()


def _page_text(response):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(client):
    make_member(email="member@example.org")

    known = client.post("/accounts/password/reset/", {"email": "member@example.org"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})

    # Same status, same place, same page: the form does not say which addresses have accounts.
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    known_page, unknown_page = client.get(known["Location"]), client.get(unknown["Location"])
    assert known_page.status_code == unknown_page.status_code == 200
    assert _page_text(known_page) == _page_text(unknown_page)
    assert "We have sent you an email" in unknown_page.content.decode()
    assert "not assigned" not in unknown_page.content.decode()
    # Each address gets its own email: a reset link for the member, a note for the stranger.
    assert [message.to for message in mail.outbox] == [
        ["member@example.org"],
        ["nobody@example.org"],
    ]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "No account uses this address" in mail.outbox[1].body
    assert "/accounts/password/reset/key/" not in mail.outbox[1].body


def test_password_change_needs_the_current_password(client):
    member = make_member(email="member@example.org")
    log_in(client, "member@example.org")

    wrong = client.post(
        "/accounts/password/change/",
        {"oldpassword": "wrong", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert "That password is not correct." in wrong.content.decode()

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        follow=True,
    )

    assert (
        "Your password is changed. Use the new one next time you log in."
        in response.content.decode()
    )
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert AuditRecord.objects.filter(
        action="cms.user.password_changed", object_id=str(member.pk)
    ).exists()
    # The account holder is told by email, so a change they did not make is noticed.
    assert any("password" in message.subject.lower() for message in mail.outbox)


def test_email_change_is_verified_before_it_becomes_the_login(client):
    member = make_member(email="old@example.org")
    log_in(client, "old@example.org")
    page = client.get("/accounts/email/").content.decode()
    assert "old@example.org" in page
    assert 'aria-label="Account settings"' in page

    client.post("/accounts/email/", {"action_add": "", "email": "New@Example.org"})

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.org"]
    member.refresh_from_db()
    assert member.email == "old@example.org"

    response = client.post(link_in_email(mail.outbox[0]), follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/email/"
    member.refresh_from_db()
    assert member.email == "new@example.org"
    assert (
        "Your address new@example.org is confirmed: you log in with it, and our emails go to it."
        in response.content.decode()
    )
    # The old address is replaced, not kept beside the new one.
    assert list(member.emailaddress_set.values_list("email", flat=True)) == ["new@example.org"]
    assert AuditRecord.objects.filter(
        action="cms.user.email_changed", object_id=str(member.pk)
    ).exists()
    client.post("/accounts/logout/")
    assert log_in(client, "new@example.org").status_code == 302


def test_email_already_used_by_another_account_cannot_be_added(client):
    taken = make_member(email="taken@example.org")
    member = make_member(email="member@example.org")
    log_in(client, "member@example.org")

    response = client.post(
        "/accounts/email/", {"action_add": "", "email": "TAKEN@example.org"}, follow=True
    )

    # The page does not say the address has an account (that would tell anyone who signs up
    # which addresses exist); the address simply never becomes this member's login.
    assert "already" not in response.content.decode().lower()
    for message in mail.outbox:
        if "/accounts/confirm-email/" in message.body:
            client.post(link_in_email(message), follow=True)
    member.refresh_from_db()
    taken.refresh_from_db()
    assert member.email == "member@example.org"
    assert taken.email == "taken@example.org"
    assert User.objects.filter(email__iexact="taken@example.org").count() == 1
    client.post("/accounts/logout/")
    assert log_in(client, "taken@example.org").status_code == 302
    assert client.session["_auth_user_id"] == str(taken.pk)


def test_a_name_with_html_or_ampersands_is_shown_as_typed_in_the_log_in_message(client):
    make_member(email="member@example.org", legal_name="<b>Bo</b> & Co")

    client.post("/accounts/login/", {"login": "member@example.org", "password": PASSWORD})
    html = client.get("/accounts/profile/").content.decode()

    assert "You are logged in as &lt;b&gt;Bo&lt;/b&gt; &amp; Co." in html
    assert "<b>Bo</b>" not in html
