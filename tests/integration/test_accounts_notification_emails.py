"""Security notices about an account read in the site's voice, not allauth's stock text."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.accounts_support import PASSWORD, make_member

pytestmark = pytest.mark.django_db


def test_password_change_notice_is_in_the_site_voice(client):
    member = make_member()
    client.force_login(member)
    mail.outbox.clear()
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a new Passphrase 42!",
            "password2": "a new Passphrase 42!",
        },
    )
    assert response.status_code == 302
    (notice,) = mail.outbox
    assert notice.subject == "Your password was changed"
    assert notice.body.startswith("Hello from Heart and Soul of Change Project!")
    assert "The password of your account was changed." in notice.body
    assert "reset your password now" in notice.body
    assert "You are receiving this mail" not in notice.body
