"""The foundation, as a visitor and a staff member meet it in Chromium."""

import io
import re

import pyotp
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP
from django.core.management import call_command
from playwright.sync_api import expect
from wagtail.models import Page

from cms.models import User
from tests.browser.conftest import assert_accessible, last_email, links_in, local_path

pytestmark = pytest.mark.browser

ARTICLE_TITLE = (
    "The Therapeutic Alliance — A Common Factor for Effective Psychotherapy, "
    "Pharmacotherapy, and Placebos"
)


@pytest.fixture
def demo_site():
    """The site a newcomer gets from `make run`."""
    call_command("load_demo", stdout=io.StringIO())


def test_visitor_opens_the_home_page_and_reads_the_article(page, demo_site):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name=re.compile("The Therapeutic Alliance")).first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(ARTICLE_TITLE)
    expect(page.locator("main")).to_contain_text("therapeutic alliance")
    expect(page).to_have_title(re.compile("The Therapeutic Alliance"))
    assert_accessible(page)


def test_visitor_signs_up_verifies_the_email_and_logs_in_and_out(page, demo_site):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Legal name").fill("Zoë Ñúñez")
    page.get_by_label("Preferred name (optional)").fill("Zoë")
    page.get_by_label("Email").fill("zoe.nunez@example.org")
    page.get_by_label("Password", exact=True).fill("alliance-outcome-feedback-42")
    page.get_by_label(re.compile(r"Password \(again\)|Confirm password", re.I)).fill(
        "alliance-outcome-feedback-42"
    )
    page.get_by_role("button", name="Sign up").click()

    expect(page.locator("main")).to_contain_text(re.compile("verify|confirm", re.I))
    user = User.objects.get(email__iexact="zoe.nunez@example.org")
    assert user.legal_name == "Zoë Ñúñez"
    assert not EmailAddress.objects.get(user=user).verified

    message = last_email(to="zoe.nunez@example.org")
    (confirm_link,) = [link for link in links_in(message) if "/confirm-email/" in link]
    page.goto(local_path(confirm_link))
    page.get_by_role("button", name="Confirm").click()

    # ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION: confirming in the same browser signs the person in.
    expect(page.get_by_role("navigation", name="Your account")).to_contain_text("Signed in as Zoë")
    assert EmailAddress.objects.get(user=user).verified

    page.get_by_role("button", name="Log out").click()
    if page.get_by_role("heading", name=re.compile("Log out|Sign out", re.I)).count():
        page.locator("main").get_by_role("button", name=re.compile("Log out|Sign out")).click()
    expect(page.get_by_role("navigation", name="Your account")).to_contain_text("Log in")

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("ZOE.NUNEZ@example.org")
    page.get_by_label("Password").fill("alliance-outcome-feedback-42")
    page.locator("main").get_by_role("button", name=re.compile("Log in|Sign in")).click()
    expect(page.get_by_role("navigation", name="Your account")).to_contain_text("Signed in as Zoë")


def test_staff_member_logs_into_the_wagtail_admin_with_a_totp_code(page, demo_site):
    staff = User.objects.create_user(
        email="editor@example.org",
        password="editor-passphrase-2024",
        legal_name="Мария Иванова",
        is_staff=True,
        is_superuser=True,
    )
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    secret = pyotp.random_base32()
    TOTP.activate(staff, secret)

    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill("editor@example.org")
    page.get_by_label("Password").fill("editor-passphrase-2024")
    page.locator("main").get_by_role("button", name=re.compile("Log in|Sign in")).click()

    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.get_by_label(re.compile("Authenticator code|Code", re.I)).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name=re.compile("Sign in|Log in|Verify|Continue", re.I)).click()

    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("body")).to_contain_text("Heart and Soul of Change Project")
    expect(page.get_by_role("link", name=re.compile("Pages", re.I)).first).to_be_visible()

    # The page editor runs Wagtail's inline scripts; the admin's CSP must let them work.
    article = Page.objects.get(title=ARTICLE_TITLE)
    page.goto(f"/admin/pages/{article.pk}/edit/")
    expect(page.get_by_role("textbox", name=re.compile("Title", re.I)).first).to_have_value(
        ARTICLE_TITLE
    )
