"""The profile page and deleting an account."""

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache

from cms.models import AuditRecord, User
from tests.accounts_support import PASSWORD, make_member

pytestmark = pytest.mark.django_db

PROFILE = {
    "legal_name": "Мария Ивановна Петрова",
    "preferred_name": "Маша",
    "profession": "Licensed clinical social worker",
    "credentials": "LCSW",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def member(client):
    user = make_member(email="member@example.org", legal_name="Mary Petrova")
    client.force_login(user)
    return user


def test_profile_needs_a_logged_in_member(client):
    response = client.get("/accounts/profile/")

    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/accounts/profile/"


def test_profile_shows_labelled_fields_with_current_values(client, member):
    html = client.get("/accounts/profile/").content.decode()

    assert "<h1>Your profile</h1>" in html
    assert '<label for="id_legal_name">Legal name</label>' in html
    assert 'value="Mary Petrova"' in html
    assert '<label for="id_credentials">Credentials (optional)</label>' in html
    assert 'aria-current="page">Profile</a>' in html


def test_editing_the_profile_saves_names_exactly_and_records_the_change(client, member):
    response = client.post("/accounts/profile/", PROFILE, follow=True)
    html = response.content.decode()

    assert "Your profile has been saved." in html
    assert "<dd>Мария Ивановна Петрова</dd>" in html
    assert "Signed in as <strong>Маша</strong>" in html
    member.refresh_from_db()
    assert member.legal_name == "Мария Ивановна Петрова"
    assert member.credentials == "LCSW"
    record = AuditRecord.objects.get(action="cms.user.profile_updated", object_id=str(member.pk))
    assert record.before["legal_name"] == "Mary Petrova"
    assert record.after["legal_name"] == "Мария Ивановна Петрова"
    assert record.actor == member


def test_a_blank_legal_name_is_refused_and_the_other_changes_are_kept_on_the_form(client, member):
    response = client.post("/accounts/profile/", {**PROFILE, "legal_name": "  "})
    html = response.content.decode()

    assert "Enter your legal name as it should appear on certificates." in html
    assert 'aria-invalid="true"' in html
    assert 'value="Маша"' in html
    # Nothing was saved, and the header still shows the stored name.
    member.refresh_from_db()
    assert member.legal_name == "Mary Petrova"
    assert "Signed in as <strong>Mary Petrova</strong>" in html


def test_html_in_a_name_is_shown_as_text(client, member):
    client.post(
        "/accounts/profile/",
        {**PROFILE, "legal_name": "<script>alert(1)</script>", "preferred_name": "<b>Bo</b>"},
    )

    html = client.get("/accounts/profile/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "<b>Bo</b>" not in html
    assert "<dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd>" in html
    assert "Signed in as <strong>&lt;b&gt;Bo&lt;/b&gt;</strong>" in html
    member.refresh_from_db()
    assert member.legal_name == "<script>alert(1)</script>"


def test_deleting_the_account_needs_the_password(client, member):
    response = client.post("/accounts/delete/", {"password": "wrong", "confirm": "on"})

    assert "That password is not correct." in response.content.decode()
    member.refresh_from_db()
    assert member.is_active
    assert member.legal_name == "Mary Petrova"


def test_deleting_the_account_needs_the_confirmation_tick(client, member):
    response = client.post("/accounts/delete/", {"password": PASSWORD})

    assert "Tick the box to confirm" in response.content.decode()
    member.refresh_from_db()
    assert member.is_active


def test_deleting_the_account_anonymises_it_and_logs_out(client, member):
    page = client.get("/accounts/delete/").content.decode()
    assert "<h1>Delete your account</h1>" in page
    assert '<label for="id_password">Password</label>' in page

    response = client.post(
        "/accounts/delete/", {"password": PASSWORD, "confirm": "on"}, follow=True
    )

    assert response.redirect_chain[-1][0] == "/"
    assert "_auth_user_id" not in client.session
    member.refresh_from_db()
    assert not member.is_active
    assert not member.has_usable_password()
    assert member.email == f"deleted-{member.pk}@deleted.invalid"
    assert member.legal_name == "Deleted account"
    assert member.preferred_name == member.profession == member.credentials == ""
    assert not EmailAddress.objects.filter(user=member).exists()
    record = AuditRecord.objects.get(action="cms.user.account_closed", object_id=str(member.pk))
    assert "Mary Petrova" not in str(record.after)
    # The old address cannot log in any more, and is free for a new sign-up.
    login = client.post("/accounts/login/", {"login": "member@example.org", "password": PASSWORD})
    assert "The email address or password is not correct." in login.content.decode()
    client.post(
        "/accounts/signup/",
        {
            "email": "member@example.org",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "legal_name": "Mary Petrova",
        },
    )
    assert User.objects.filter(email="member@example.org", is_active=True).count() == 1


def test_staff_are_told_to_ask_an_administrator(client):
    staff = make_member(email="staff@example.org", is_staff=True)
    client.force_login(staff)

    response = client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "on"})

    assert response.status_code == 403
    assert "Ask an administrator" in response.content.decode()
    staff.refresh_from_db()
    assert staff.is_active


def test_delete_page_needs_a_logged_in_member(client):
    response = client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "on"})

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_guessing_the_password_on_the_delete_page_is_rate_limited(client, member, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reauthenticate": "2/m/user"}
    for _attempt in range(2):
        client.post("/accounts/delete/", {"password": "guess", "confirm": "on"})

    response = client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "on"})

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    member.refresh_from_db()
    assert member.is_active
