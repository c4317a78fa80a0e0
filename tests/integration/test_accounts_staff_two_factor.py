"""Staff need an authenticator app before the Wagtail admin opens, and sign in through allauth."""

import re

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.cache import cache

from cms.roles import STAFF_ROLES
from tests.accounts_support import (
    PASSWORD,
    has_totp,
    log_in_with_totp,
    make_member,
    make_staff_with_totp,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth counts attempts (and used TOTP codes) in the cache; start each test clean."""
    cache.clear()


def log_in(client, email, password=PASSWORD, next_url="/admin/"):
    return client.post(f"/accounts/login/?next={next_url}", {"login": email, "password": password})


def test_the_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/")

    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=%2Fadmin%2F"


def test_the_admin_login_keeps_a_local_next_page_but_not_another_site(client):
    assert client.get("/admin/login/?next=/admin/pages/").url == (
        "/accounts/login/?next=%2Fadmin%2Fpages%2F"
    )
    assert client.get("/admin/login/?next=https://evil.example/").url == (
        "/accounts/login/?next=%2Fadmin%2F"
    )


def test_anonymous_visitors_to_the_admin_are_sent_to_the_site_login(client):
    response = client.get("/admin/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/admin/")


def test_wagtail_password_screens_are_off(client):
    assert client.get("/admin/password_reset/").status_code == 404
    superuser, secret = make_staff_with_totp(is_superuser=True)
    log_in_with_totp(client, superuser.email, secret)
    assert client.get("/admin/account/change_password/").status_code == 404


def test_staff_without_an_authenticator_are_sent_to_set_one_up(client):
    staff = make_member(email="editor@example.org", is_staff=True, is_superuser=True)
    log_in(client, "editor@example.org")

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response.url == "/accounts/2fa/totp/activate/?next=/admin/"
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("Staff accounts need two-factor authentication" in m for m in messages)
    assert not has_totp(staff)


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_role_members_without_the_staff_flag_also_need_two_factor(client, role):
    """A role group grants admin access on its own; that access must not skip the second factor."""
    editor = make_member(email="role-member@example.org")
    editor.groups.add(Group.objects.get(name=role))
    log_in(client, "role-member@example.org")

    response = client.get("/admin/pages/")

    assert response.status_code == 302
    assert response.url == "/accounts/2fa/totp/activate/?next=/admin/pages/"
    assert not has_totp(editor)


def test_members_who_are_not_staff_are_not_asked_for_two_factor(client):
    member = make_member(email="member@example.org")
    client.force_login(member)

    response = client.get("/admin/")

    # Wagtail itself refuses non-staff; the two-factor set-up is not offered to them.
    assert "/accounts/2fa/" not in response.get("Location", "")


def test_setting_up_totp_opens_the_admin_and_the_next_login_asks_for_a_code(client):
    staff = make_member(email="editor@example.org", is_staff=True, is_superuser=True)
    log_in(client, "editor@example.org")

    reauthenticate = client.get("/admin/", follow=True)
    # allauth asks for the password again before a new authenticator is added.
    assert "Staff accounts need two-factor authentication" in reauthenticate.content.decode()
    assert "Confirm Access" in reauthenticate.content.decode()
    setup = client.post(
        "/accounts/reauthenticate/",
        {"password": PASSWORD, "next": "/accounts/2fa/totp/activate/?next=/admin/"},
        follow=True,
    )
    html = setup.content.decode()

    assert "Activate Authenticator App" in html
    # The QR code is inline; nothing on the page is fetched from another host.
    assert re.search(r'<img class="totp-qr" src="data:image/svg\+xml;base64,[^"]+"', html)
    assert not re.search(r'src="(https?:)?//(?!testserver/)', html)
    assert '<label for="id_code">Authenticator code</label>' in html
    secret = setup.context["form"].secret

    wrong = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert "Incorrect code." in wrong.content.decode()
    assert not has_totp(staff)

    activated = client.post(
        "/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()}, follow=True
    )

    assert has_totp(staff)
    # Recovery codes are made at the same time and shown straight away.
    codes_page = activated.content.decode()
    assert "Recovery Codes" in codes_page
    assert "Unused codes" in codes_page
    assert Authenticator.objects.filter(user=staff, type="recovery_codes").exists()
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert "Dashboard" in admin.content.decode()

    client.post("/accounts/logout/")
    response = log_in(client, "editor@example.org")

    assert response.url.startswith("/accounts/2fa/authenticate/")
    assert "_auth_user_id" not in client.session
    challenge = client.get(response.url).content.decode()
    assert "<h1>Two-factor authentication</h1>" in challenge
    assert '<button class="btn btn--primary" type="submit">Log in</button>' in challenge
    client.post("/accounts/2fa/authenticate/", {"code": pyotp.TOTP(secret).now()})
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_does_not_log_in(client):
    staff, secret = make_staff_with_totp(is_superuser=True)
    log_in(client, staff.email)

    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})

    assert "Incorrect code." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_recovery_code_logs_in_when_the_phone_is_lost(client):
    staff, secret = make_staff_with_totp(is_superuser=True)
    log_in_with_totp(client, staff.email, secret)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    client.post("/accounts/2fa/recovery-codes/generate/")
    codes_page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    codes = re.search(r'<textarea[^>]*id="recovery_codes"[^>]*>([^<]+)</textarea>', codes_page)
    assert codes, codes_page
    first_code = codes.group(1).split()[0]
    client.post("/accounts/logout/")

    log_in(client, staff.email)
    client.post("/accounts/2fa/authenticate/", {"code": first_code})

    assert client.session.get("_auth_user_id") == str(staff.pk)
    assert client.get("/admin/").status_code == 200


def test_staff_with_totp_reach_the_admin_after_the_code(client):
    staff, secret = make_staff_with_totp(is_superuser=True)

    response = log_in_with_totp(client, staff.email, secret)

    assert response.redirect_chain[-1][0] == "/admin/"
    assert "Dashboard" in response.content.decode()
