"""Issue 15, item 15 in Chromium at desktop and phone widths: every account and two-factor
screen speaks in the site's voice (sentence-case heading and title, a clear next step), and
its form still does its job: a reset request emails a link that sets a new password, a
changed password logs in, a new email address gets its confirmation link and becomes the
address, and a staff member can make new recovery codes and turn the authenticator off."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.accounts_support import (
    PASSWORD,
    has_totp,
    log_in_browser,
    make_member,
    make_staff_with_totp,
)
from tests.browser.conftest import assert_accessible, last_email, links_in, local_path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
SITE_NAME = "Heart and Soul of Change Project"
TITLE_SUFFIX = f" | {SITE_NAME}"
# Words that keep their capitals mid-sentence.
PROPER_WORDS = {"CE", "I", "FIT"}
NEW_PASSWORD = "session-rating-scale-feedback-91"


def capitalised_after_the_first_word(text):
    """The words of a heading that Title Case would capitalise and a sentence would not."""
    words = re.findall(r"[^\W\d_][\w'\u2019-]*", text.replace(SITE_NAME, ""))
    return [word for word in words[1:] if word[0].isupper() and word not in PROPER_WORDS]


def assert_in_the_sites_voice(page, heading):
    """The page's one heading reads `heading`, its title says the same, both in sentence case;
    nothing scrolls sideways and axe finds nothing serious."""
    h1 = page.locator("main h1")
    expect(h1).to_have_count(1)
    expect(h1).to_have_text(heading)
    shown = h1.inner_text().strip()
    assert capitalised_after_the_first_word(shown) == [], shown
    title = page.title()
    assert title.endswith(TITLE_SUFFIX), title
    assert title.removesuffix(TITLE_SUFFIX).strip() == shown, title
    assert capitalised_after_the_first_word(title) == [], title
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    assert_accessible(page)


def log_in_through_the_form(page, email, password):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()


def assert_logged_in(page):
    """Only a signed-in member reaches the profile; anyone else is sent to log in."""
    page.goto("/accounts/profile/")
    expect(page.locator("main h1")).to_have_text("Your profile")


def test_the_title_case_check_catches_allauths_stock_headings():
    """The check itself: allauth's stock headings fail it, the site's own pass."""
    assert capitalised_after_the_first_word("Password Reset") == ["Reset"]
    assert capitalised_after_the_first_word("Verify Your Email Address") == [
        "Your",
        "Email",
        "Address",
    ]
    assert capitalised_after_the_first_word(f"Log in | {SITE_NAME}") == []
    assert capitalised_after_the_first_word("Your CE certificates, as I see them") == []


@pytest.mark.parametrize("width", WIDTHS)
def test_a_forgotten_password_is_reset_from_the_emailed_link(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    member = make_member("rosa@example.org", "Rosa Member")

    page.goto("/accounts/password/reset/")
    assert_in_the_sites_voice(page, "Reset your password")
    page.get_by_label("Email").fill("rosa@example.org")
    page.get_by_role("button", name="Email me a reset link").click()

    assert_in_the_sites_voice(page, "Check your email")
    expect(page.locator("main")).to_contain_text("Open the link in it to choose a new password")
    message = last_email(to="rosa@example.org")
    assert message.subject == "Reset your password", message.subject
    (reset_link,) = [link for link in links_in(message) if "/password/reset/key/" in link]

    page.goto(local_path(reset_link))
    assert_in_the_sites_voice(page, "Choose a new password")
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save my new password").click()

    assert_in_the_sites_voice(page, "Your password is changed")
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)

    # A used link says so, and where to get a new one.
    page.goto(local_path(reset_link))
    assert_in_the_sites_voice(page, "This link no longer works")
    expect(page.locator("main").get_by_role("link", name="Ask for a new link")).to_have_attribute(
        "href", "/accounts/password/reset/"
    )

    # The new password is the one that logs in now.
    log_in_through_the_form(page, "rosa@example.org", NEW_PASSWORD)
    assert_logged_in(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_changes_their_password_and_sees_two_factor_explained(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    make_member("ines@example.org", "Ines Member")
    log_in_through_the_form(page, "ines@example.org", PASSWORD)

    page.goto("/accounts/2fa/")
    assert_in_the_sites_voice(page, "Two-factor authentication")
    main = page.locator("main")
    expect(main).to_contain_text("Off: log-in asks only for your password.")
    expect(main.get_by_role("link", name="Set up an authenticator app")).to_have_attribute(
        "href", "/accounts/2fa/totp/activate/"
    )

    page.goto("/accounts/password/change/")
    assert_in_the_sites_voice(page, "Change your password")
    page.locator("input[name=oldpassword]").fill(PASSWORD)
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".messages")).to_contain_text(
        "Your password is changed. Use the new one next time you log in."
    )

    # Logged out, the old password no longer works and the new one does.
    page.context.clear_cookies()
    log_in_through_the_form(page, "ines@example.org", PASSWORD)
    expect(page.locator("main")).to_contain_text("The email address or password is not correct")
    log_in_through_the_form(page, "ines@example.org", NEW_PASSWORD)
    assert_logged_in(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_an_account_without_a_password_sets_one(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    member = make_member("noor@example.org", "Noor Member")
    member.set_unusable_password()
    member.save()
    log_in_browser(page, member)

    page.goto("/accounts/password/change/")
    assert_in_the_sites_voice(page, "Set a password")
    page.locator("input[name=password1]").fill(NEW_PASSWORD)
    page.locator("input[name=password2]").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()

    expect(page.locator(".messages")).to_be_visible()
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_changes_their_email_address_through_the_emailed_link(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    member = make_member("old.address@example.org", "Oren Member")
    log_in_browser(page, member)

    page.goto("/accounts/email/")
    assert_in_the_sites_voice(page, "Your email address")
    main = page.locator("main")
    expect(main.locator(".account-summary")).to_contain_text("old.address@example.org")
    page.get_by_label("New email address").fill("new.address@example.org")
    page.get_by_role("button", name="Send a confirmation link").click()

    assert_in_the_sites_voice(page, "Your email address")
    pending = main.locator(".account-panel")
    expect(pending).to_contain_text("We have sent a confirmation link to new.address@example.org")
    expect(pending.get_by_role("button", name="Send the link again")).to_be_visible()
    message = last_email(to="new.address@example.org")
    (confirm_link,) = [link for link in links_in(message) if "/confirm-email/" in link]

    page.goto(local_path(confirm_link))
    assert_in_the_sites_voice(page, "Confirm your email address")
    expect(page.locator("main")).to_contain_text("Is new.address@example.org your email address?")
    page.get_by_role("button", name="Confirm my address").click()

    assert_in_the_sites_voice(page, "Your email address")
    expect(main.locator(".account-summary")).to_contain_text("new.address@example.org")
    expect(main).not_to_contain_text("old.address@example.org")
    expect(main.locator(".account-panel")).to_have_count(0)

    # The link has done its work; opened again, it says so.
    page.goto(local_path(confirm_link))
    assert_in_the_sites_voice(page, "This link no longer works")


@pytest.mark.parametrize("width", WIDTHS)
def test_signing_up_asks_to_confirm_the_address_in_the_sites_voice(page, width):
    page.set_viewport_size({"width": width, "height": 900})

    page.goto("/accounts/signup/")
    assert_in_the_sites_voice(page, "Sign up")
    page.get_by_label("Legal name").fill("Kai Newcomer")
    page.get_by_label("Email").fill("kai@example.org")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label(re.compile(r"Password \(again\)|Confirm password", re.I)).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    assert_in_the_sites_voice(page, "Confirm your email address")
    expect(page.locator("main")).to_contain_text("We have sent you an email with a link.")
    assert [m for m in mail.outbox if "kai@example.org" in m.to]

    page.goto("/accounts/login/")
    assert_in_the_sites_voice(page, "Log in")


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_make_new_recovery_codes_and_turn_the_authenticator_off(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    staff, _secret = make_staff_with_totp("tess@example.org", "Tess Staff")
    log_in_browser(page, staff, second_factor=True)

    page.goto("/accounts/2fa/")
    assert_in_the_sites_voice(page, "Two-factor authentication")
    main = page.locator("main")
    expect(main).to_contain_text("On: log-in asks for a code from your authenticator app.")

    main.get_by_role("link", name="Make new codes").click()
    assert_in_the_sites_voice(page, "Make new recovery codes")
    main.get_by_role("button", name="Make new codes").click()
    assert_in_the_sites_voice(page, "Your recovery codes")
    codes = page.get_by_label(re.compile("^Unused codes")).input_value().split()
    assert len(codes) >= 5, codes

    page.goto("/accounts/2fa/")
    main.get_by_role("link", name="Turn off").click()
    assert_in_the_sites_voice(page, "Turn off your authenticator app")
    expect(main).to_contain_text("set up an authenticator app again")
    main.get_by_role("button", name="Turn off two-factor authentication").click()

    assert_in_the_sites_voice(page, "Two-factor authentication")
    expect(main).to_contain_text("Off: log-in asks only for your password.")
    assert not has_totp(staff)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_other_account_pages_a_member_reaches_are_in_sentence_case(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    make_member("lee@example.org", "Lee Member")
    log_in_through_the_form(page, "lee@example.org", PASSWORD)

    for path, heading in [
        ("/accounts/2fa/totp/activate/", "Set up your authenticator app"),
        ("/accounts/reauthenticate/", "Confirm it's you"),
        ("/accounts/logout/", "Log out"),
    ]:
        page.goto(path)
        assert_in_the_sites_voice(page, heading)
