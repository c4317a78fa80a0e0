"""Sign-up with mandatory email verification, seen the way a visitor sees it."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.test import Client

from cms.models import AuditRecord, User
from tests.accounts_support import PASSWORD, link_in_email, make_member

pytestmark = pytest.mark.django_db

NAMES_IN_MANY_SCRIPTS = ["Zoë Ñúñez", "王小明", "محمد علي", "Мария"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts attempts in the cache; each test starts with a clean count."""
    cache.clear()


def sign_up(client, email="new.person@example.org", legal_name="Ada Lovelace", **extra):
    data = {
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "legal_name": legal_name,
        "preferred_name": "",
        "profession": "",
        **extra,
    }
    return client.post("/accounts/signup/", data, follow=True)


def test_sign_up_page_has_labelled_fields_and_the_site_layout(client):
    response = client.get("/accounts/signup/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "<h1>Sign up</h1>" in html
    for label in ["Legal name", "Email", "Password", "Preferred name (optional)", "Profession"]:
        assert f">{label}" in html, label
    assert '<button class="btn btn--primary" type="submit">Sign up</button>' in html
    # The legal name's help text is announced with the input.
    assert 'aria-describedby="id_legal_name_helptext"' in html
    assert "exactly as it should appear on certificates" in html
    # The site's own header and footer surround the form.
    assert 'class="site-header"' in html
    assert 'class="site-footer"' in html
    assert "css/accounts.css" in html


def test_sign_up_sends_a_verification_email_and_the_link_verifies_and_logs_in(client):
    response = sign_up(
        client,
        email="Ada@Example.org",
        legal_name="Ada King, Countess of Lovelace",
        preferred_name="Ada",
        profession="Psychologist",
    )

    assert "Confirm your email address" in response.content.decode()
    user = User.objects.get(email__iexact="ada@example.org")
    assert user.legal_name == "Ada King, Countess of Lovelace"
    assert user.preferred_name == "Ada"
    assert user.profession == "Psychologist"
    assert not EmailAddress.objects.get(user=user).verified
    # Not logged in until the address is verified.
    assert "_auth_user_id" not in client.session

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.org"]
    assert message.body.startswith("Hello from Heart and Soul of Change Project!")
    # In the site's voice, not allauth's stock "register an account on <host>".
    assert message.subject == "Confirm your email address to finish signing up"
    assert "One step is left to finish creating your account" in message.body
    assert "register an account on" not in message.body
    confirm_path = link_in_email(message)
    assert confirm_path.startswith("/accounts/confirm-email/")

    page = client.get(confirm_path)
    assert "Confirm" in page.content.decode()
    assert "ada@example.org" in page.content.decode()

    response = client.post(confirm_path)

    assert response.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert client.session["_auth_user_id"] == str(user.pk)
    # Logged in: the header names the new member by their preferred name.
    assert "Signed in as <strong>Ada</strong>" in client.get("/accounts/profile/").content.decode()
    actions = set(
        AuditRecord.objects.filter(object_id=str(user.pk)).values_list("action", flat=True)
    )
    assert {"cms.user.signed_up", "cms.user.email_verified"} <= actions


def test_logging_in_before_verifying_points_to_the_email_instead_of_logging_in(client):
    sign_up(client)
    client.logout()

    response = client.post(
        "/accounts/login/", {"login": "new.person@example.org", "password": PASSWORD}, follow=True
    )

    assert "Confirm your email address" in response.content.decode()
    assert "We have sent you an email with a link" in response.content.decode()
    assert "_auth_user_id" not in client.session


def _page_text(response, email):
    """The page as a visitor reads it, with the typed address and per-request tokens removed."""
    html = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


@pytest.mark.parametrize("typed", ["ann@example.org", "ANN@Example.ORG"])
def test_sign_up_with_a_taken_address_looks_like_a_new_sign_up_and_emails_the_owner(client, typed):
    make_member(email="ann@example.org", legal_name="Ann Existing")
    new_address = "brand.new@example.org" if typed.islower() else "BRAND.New@Example.ORG"
    fresh = sign_up(Client(), email=new_address, legal_name="Ann Impostor")
    mail.outbox.clear()

    response = sign_up(client, email=typed, legal_name="Ann Impostor")

    # The visitor sees exactly what a new sign-up sees: nothing says the address is taken.
    assert response.status_code == fresh.status_code == 200
    assert response.redirect_chain == fresh.redirect_chain
    assert _page_text(response, typed.lower()) == _page_text(fresh, new_address.lower())
    assert "Confirm your email address" in response.content.decode()
    assert "already" not in response.content.decode().lower()
    # No second account, and the existing one is untouched.
    assert User.objects.filter(email__iexact="ann@example.org").count() == 1
    assert User.objects.get(email__iexact="ann@example.org").legal_name == "Ann Existing"
    assert "_auth_user_id" not in client.session
    # The owner is told by email how to log in or reset the password.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.org"]
    assert message.subject == "You already have an account with us"
    assert message.body.startswith("Hello from Heart and Soul of Change Project!")
    assert "no new account was made" in message.body
    assert "http://testserver/accounts/login/" in message.body
    assert "http://testserver/accounts/password/reset/" in message.body


def test_missing_legal_name_is_explained(client):
    response = sign_up(client, legal_name="   ")

    assert "Enter your legal name as it should appear on certificates." in (
        response.content.decode()
    )
    assert not User.objects.exists()


@pytest.mark.parametrize("name", NAMES_IN_MANY_SCRIPTS)
def test_names_in_any_script_are_stored_and_shown_exactly(client, name):
    sign_up(client, legal_name=name, preferred_name=name)
    confirm_path = link_in_email(mail.outbox[0])

    client.post(confirm_path)

    user = User.objects.get(email="new.person@example.org")
    assert user.legal_name == name
    assert user.preferred_name == name
    profile = client.get("/accounts/profile/").content.decode()
    assert f"<dd>{name}</dd>" in profile
    assert f"Signed in as <strong>{name}</strong>" in profile
