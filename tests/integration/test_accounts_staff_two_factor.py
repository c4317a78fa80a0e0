"""Staff need an authenticator app before the Wagtail admin opens, and sign in through allauth."""

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.utils import timezone

from certification import services as ce_services
from certification.factories import make_body, make_offering, make_registration, make_user
from certification.factories import make_event as make_ce_event
from certification.models import EvaluationResponse
from cms.roles import (
    CE_ADMINISTRATOR,
    CERTIFICATION_REVIEWER,
    EVENT_MANAGER,
    FINANCE,
    STAFF_ROLES,
)
from courses import attendance
from courses import services as courses_services
from courses.factories import UserFactory
from courses.factories import make_event as make_course_event
from payments import services as payments_services
from payments.models import FinanceDocument
from tests.accounts_support import (
    PASSWORD,
    has_totp,
    log_in_with_second_factor,
    log_in_with_totp,
    make_member,
    make_staff_with_totp,
    totp_code,
)
from tests.fakestripe.helpers import hold_seats

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

    # Just logged in: the set-up opens at once, without asking for the password again.
    setup = client.get("/admin/", follow=True)
    html = setup.content.decode()
    assert "Staff accounts need two-factor authentication" in html
    assert "Confirm it" not in html

    assert "Set up your authenticator app" in html
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
    assert "Your recovery codes" in codes_page
    assert "Unused codes" in codes_page
    # The way back to the page they asked for is on it.
    assert re.search(r'<a [^>]*href="/admin/"[^>]*>\s*Continue', codes_page)
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


# -- Wagtail's front-end login --------------------------------------------------------------


def test_wagtails_front_end_login_goes_through_allauth_keeping_only_a_local_next(client):
    local = client.get("/_util/login/?next=/members-only/")
    assert local.status_code == 302
    assert local.url == "/accounts/login/?next=%2Fmembers-only%2F"

    elsewhere = client.get("/_util/login/?next=https://evil.example/")
    assert elsewhere.status_code == 302
    assert elsewhere.url == "/accounts/login/?next=%2F"
    assert "evil.example" not in elsewhere.url


def test_a_staff_password_posted_to_wagtails_front_end_login_does_not_sign_in(client):
    staff, _secret = make_staff_with_totp(is_superuser=True)

    client.post(
        "/_util/login/",
        {"username": staff.email, "email": staff.email, "password": PASSWORD, "next": "/admin/"},
    )

    assert "_auth_user_id" not in client.session
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert admin.url.startswith("/accounts/login/")


# -- roles are permissions, not group names ----------------------------------------------------


def test_renaming_the_finance_group_changes_nothing(client):
    finance = Group.objects.get(name=FINANCE)
    finance.name = "Money people"
    finance.save()
    member = make_member(email="fiona@example.org", legal_name="Fiona Finance")
    member.groups.add(finance)
    log_in_with_second_factor(client, member)

    orders = client.get("/admin/finance/orders/")

    assert orders.status_code == 200
    assert "Orders" in orders.content.decode()


def test_any_group_holding_the_finance_permission_opens_the_orders(client):
    bookkeepers = Group.objects.create(name="Bookkeepers")
    bookkeepers.permissions.add(
        Permission.objects.get(content_type__app_label="payments", codename="view_finance"),
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin"),
    )
    keeper = make_member(email="keeper@example.org", legal_name="Kim Keeper")
    keeper.groups.add(bookkeepers)
    log_in_with_second_factor(client, keeper)

    orders = client.get("/admin/finance/orders/")

    assert orders.status_code == 200
    assert "Orders" in orders.content.decode()


# -- staff pages outside the admin ask for the second factor -----------------------------------


def test_event_manager_without_an_authenticator_sets_one_up_and_comes_back(client):
    manager = make_member(email="events@example.org", legal_name="Eve Events")
    manager.groups.add(Group.objects.get(name=EVENT_MANAGER))
    log_in(client, manager.email, next_url="/attendance/")

    response = client.get("/attendance/")

    assert response.status_code == 302
    assert response.url == "/accounts/2fa/totp/activate/?next=/attendance/"
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("Staff accounts need two-factor authentication" in m for m in messages)

    # Logged in more than five minutes ago: allauth asks for the password again before a
    # new authenticator is added.
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        confirm = client.get(response.url, follow=True).content.decode()
        assert "<h1>Confirm it's you</h1>" in confirm
        setup = client.post(
            "/accounts/reauthenticate/",
            {"password": PASSWORD, "next": "/accounts/2fa/totp/activate/?next=/attendance/"},
            follow=True,
        )
        assert "Set up your authenticator app" in setup.content.decode()
        secret = setup.context["form"].secret
        codes = client.post(
            "/accounts/2fa/totp/activate/", {"code": pyotp.TOTP(secret).now()}, follow=True
        )

        assert has_totp(manager)
        assert 'href="/attendance/"' in codes.content.decode()
        assert client.get("/attendance/").status_code == 200


def test_event_manager_whose_session_skipped_the_code_enters_it_to_see_a_booking(client):
    event = make_course_event()
    buyer = UserFactory(email="buyer@example.org")
    booking = courses_services.place_hold(
        event=event, purchaser=buyer, tickets={event.ticket_types.get().pk: 1}
    )
    courses_services.confirm_registrations(booking)
    url = f"/registrations/bookings/{booking.public_id}/confirmation/"
    manager, secret = make_staff_with_totp(email="events@example.org", is_staff=False)
    manager.groups.add(Group.objects.get(name=EVENT_MANAGER))
    client.force_login(manager)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == f"/accounts/2fa/reauthenticate/?next={url}"
    entered = client.post(response.url, {"code": totp_code(secret)}, follow=True)
    assert entered.redirect_chain[-1][0] == url
    assert entered.status_code == 200
    assert client.get(url).status_code == 200


def _sent_to_set_up_a_second_factor(response, path):
    return (
        response.status_code == 302
        and response.url == f"/accounts/2fa/totp/activate/?next={path}"
        and response.get("Content-Type", "") != "application/pdf"
    )


def test_finance_without_a_second_factor_cannot_download_someone_elses_receipt(client):
    order = payments_services.order_for_booking(hold_seats())
    receipt = payments_services.issue_document(order, FinanceDocument.Kind.RECEIPT)
    finance = make_member(email="fiona@example.org", legal_name="Fiona Finance")
    finance.groups.add(Group.objects.get(name=FINANCE))
    client.force_login(finance)
    path = f"/payments/documents/{receipt.public_id}/"

    assert _sent_to_set_up_a_second_factor(client.get(path), path)


def test_ce_administrator_without_a_second_factor_cannot_download_someone_elses_certificate(
    client,
):
    event = make_ce_event("Measuring What Matters")
    make_offering(event, make_body("APA"))
    owner = make_user("ana@example.org", "Ana Souza")
    registration = make_registration(event, name="Ana Souza", user=owner)
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    certificate = ce_services.issue_certificate(registration, notify=False)
    administrator = make_member(email="ce@example.org", legal_name="Cee Admin")
    administrator.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    client.force_login(administrator)
    path = f"/ce/certificates/{certificate.code}/pdf/"

    assert _sent_to_set_up_a_second_factor(client.get(path), path)


def test_certification_reviewer_without_a_second_factor_cannot_open_the_reviews(client):
    reviewer = make_member(email="rev@example.org", legal_name="Rae Reviewer")
    reviewer.groups.add(Group.objects.get(name=CERTIFICATION_REVIEWER))
    client.force_login(reviewer)

    assert _sent_to_set_up_a_second_factor(
        client.get("/certification/reviews/"), "/certification/reviews/"
    )
