"""Building accounts in tests: members with a verified email, and staff with an authenticator.

Staff need TOTP before the admin opens (cms.middleware), so admin tests can use
`make_staff_with_totp` and `log_in_with_totp` to sign in the way a real staff member does.
"""

import re
import time

import pyotp
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.test import Client

from cms.access import mark_second_factor
from cms.models import User

PASSWORD = "correct horse battery staple 42"  # noqa: S105 - test credential
LINK_PATTERN = re.compile(r"https?://testserver(/\S+)")


def make_member(email="member@example.org", legal_name="Ada Member", *, verified=True, **extra):
    """An account as it is after sign-up and (by default) clicking the verification link."""
    user = User.objects.create_user(email=email, password=PASSWORD, legal_name=legal_name, **extra)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
    return user


def make_staff_with_totp(email="staff@example.org", legal_name="Sam Staff", **extra):
    """A staff user with a verified email and an activated authenticator; returns (user, secret)."""
    extra.setdefault("is_staff", True)
    user = make_member(email, legal_name, **extra)
    secret = pyotp.random_base32()
    TOTP.activate(user, secret)
    return user, secret


def log_in_with_second_factor(client, user):
    """Sign a staff user in as if they had just entered their authenticator code.

    The same session state allauth leaves after the password and code steps (its
    authentication records); the user gets an authenticator first if they have none.
    """
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        authenticator = TOTP.activate(user, pyotp.random_base32()).instance
    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "id": authenticator.pk, "type": authenticator.type},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return user


def make_staff_in_role(role, email="staff@example.org", legal_name="Sam Staff"):
    """A staff member holding one role (a group from cms.roles) with an authenticator."""
    user, _secret = make_staff_with_totp(email=email, legal_name=legal_name)
    user.groups.add(Group.objects.get(name=role))
    return user


def log_in_browser(page, user, *, second_factor=False):
    """Give a Playwright page a session for `user` (logging in has its own browser tests).

    `second_factor=True` for staff: the session is one that entered the authenticator code.
    """
    client = Client()
    if second_factor:
        log_in_with_second_factor(client, user)
    else:
        client.force_login(user)
    page.goto("/healthz")
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": page.url}]
    )


def acting_with_second_factor(user):
    """A staff user as services see them inside a request whose session passed the code."""
    return mark_second_factor(user, True)


def totp_code(secret):
    return pyotp.TOTP(secret).now()


def log_in_with_totp(client, email, secret, password=PASSWORD, next_url="/admin/"):
    """Log in through allauth, then answer the two-factor step; returns the final response."""
    response = client.post(
        f"/accounts/login/?next={next_url}", {"login": email, "password": password}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response.url.startswith("/accounts/2fa/authenticate/"), response.url
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)}, follow=True)
    if not response.redirect_chain:
        # Refused: on a loaded machine the 30-second code can turn over between making it and
        # the server checking it. Wait for the next code and answer once more, as a person would.
        time.sleep(30 - time.time() % 30 + 0.5)
        response = client.post(
            "/accounts/2fa/authenticate/", {"code": totp_code(secret)}, follow=True
        )
    assert response.redirect_chain, "the second factor was refused twice"
    return response


def link_in_email(message):
    """The first link in an email body, as a path on the test server."""
    match = LINK_PATTERN.search(message.body)
    assert match, message.body
    return match.group(1)


def has_totp(user):
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
