"""Staff manage people in the Wagtail admin with this site's fields: legal name, roles."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.cache import cache

from cms.models import User
from cms.roles import EVENT_MANAGER
from tests.accounts_support import log_in_with_totp, make_member, make_staff_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def admin_client(client):
    administrator, secret = make_staff_with_totp(email="admin@example.org", is_superuser=True)
    log_in_with_totp(client, administrator.email, secret)
    return client


def test_the_user_edit_form_has_the_legal_name_and_no_first_or_last_name(admin_client):
    member = make_member(email="member@example.org", legal_name="王小明")

    html = admin_client.get(f"/admin/users/edit/{member.pk}/").content.decode()

    assert 'value="王小明"' in html
    assert 'name="legal_name"' in html
    assert 'name="first_name"' not in html
    assert 'name="last_name"' not in html
    assert "where the new address is verified" in html


def test_staff_give_a_person_a_role_and_correct_their_legal_name(admin_client):
    member = make_member(email="member@example.org", legal_name="Maria")
    role = Group.objects.get(name=EVENT_MANAGER)

    response = admin_client.post(
        f"/admin/users/edit/{member.pk}/",
        {
            "email": "someone.else@example.org",
            "legal_name": "Мария Петрова",
            "preferred_name": "Maria",
            "profession": "",
            "credentials": "",
            "is_active": "on",
            "groups": [role.pk],
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    member.refresh_from_db()
    assert member.legal_name == "Мария Петрова"
    assert list(member.groups.all()) == [role]
    # The email field is shown but cannot be changed here.
    assert member.email == "member@example.org"
    assert EmailAddress.objects.get(user=member).email == "member@example.org"


def test_a_person_added_by_staff_verifies_their_address_on_first_log_in(admin_client):
    response = admin_client.post(
        "/admin/users/new/",
        {"email": "New.Trainer@Example.org", "legal_name": "Zoë Ñúñez", "is_superuser": ""},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    person = User.objects.get(email="new.trainer@example.org")
    assert person.legal_name == "Zoë Ñúñez"
    address = EmailAddress.objects.get(user=person)
    assert (address.email, address.primary, address.verified) == (
        "new.trainer@example.org",
        True,
        False,
    )


def test_the_admin_account_page_sends_names_and_email_to_the_site_account_pages(admin_client):
    html = admin_client.get("/admin/account/").content.decode()

    assert 'name="name_email-first_name"' not in html
    assert 'name="name_email-email"' not in html
    assert 'href="/accounts/profile/"' in html
    assert "Names, email, password and two-factor" in html
