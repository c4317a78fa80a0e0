"""Membership as a product in a browser, at desktop and phone widths: a non-member refused by
the members' library joins by card on the fake Stripe's Checkout page and opens what was
refused; a renewal paid by Stripe shows the later end date and a second receipt; a failed
renewal keeps the library open for the grace period, then Stripe giving up closes it;
cancelling in Stripe's portal keeps the year paid for.

Stripe's webhooks go from the fake to the live server as Stripe's would, so each page shows
what the site made of them.
"""

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cms.demo import ensure_members_library
from courses.demo import ensure_member_area
from courses.factories import events_index
from courses.models import MembershipPeriod, MembershipPlan
from payments.models import MemberSubscription
from tests.accounts_support import log_in_browser, make_member
from tests.browser.conftest import assert_accessible
from tests.fakestripe.helpers import running_fake_stripe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
HOW_TO_JOIN = "<p>Become a member online, by card or by invoice.</p>"
MEMBERSHIP = "/payments/membership/"
MANUAL_PAGE = "/member-site/pcoms-manual/"
MANUAL = "The PCOMS Manual, second edition"
REFUSED = "Members' library is for members"
# The button's name ends with the plan, in text only screen readers get.
JOIN_BY_CARD = re.compile(r"^Join by card for Member site, 1 year$")
DAY = "%-d %B %Y"  # the membership page's dates: "2 December 2027"


@pytest.fixture
def fake_stripe(settings, live_server):
    yield from running_fake_stripe(
        settings, webhook_url=live_server.url + "/payments/stripe/webhook/"
    )


@pytest.fixture
def library():
    """The demo's members' library, private to the member group the demo plan sells."""
    events_index()  # and the home page the library hangs from
    ensure_member_area(io.StringIO())
    plan = MembershipPlan.objects.get(name="Member site, 1 year", price=12000)
    return ensure_members_library(plan.group, HOW_TO_JOIN, io.StringIO())


@pytest.fixture
def person(page, library, fake_stripe):
    """A signed-in non-member, in a browser that may visit the fake Stripe's pages."""
    page.problems.allowed_host.add(urlsplit(fake_stripe.base_url).hostname)
    user = make_member("pat@example.org", "Pat Member")
    log_in_browser(page, user)
    return user


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def assert_fits_and_accessible(page):
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def member_until(page):
    """The date in the status line "Member · until 2 December 2027", as a date."""
    status = page.locator("main").get_by_text(re.compile(r"^Member · until "))
    expect(status).to_be_visible()
    text = status.inner_text()
    return datetime.strptime(text.split("until ", 1)[1].strip(), "%d %B %Y").date()  # noqa: DTZ007


def join_by_card(page):
    """From the membership page: "Join by card", pay on the fake's Checkout page, come back."""
    page.get_by_role("button", name=JOIN_BY_CARD).click()
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    expect(page.locator("body")).to_contain_text("then 120.00 USD every year")
    expect(page.locator("body")).to_contain_text("pat@example.org")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(re.escape(MEMBERSHIP) + "$"))
    expect(page.locator("main")).to_contain_text("Welcome! Your membership is active.")


def joined(page):
    """The signed-in person joins from the membership page; returns their Stripe subscription."""
    page.goto(MEMBERSHIP)
    join_by_card(page)
    return MemberSubscription.objects.get(user__email="pat@example.org")


def receipt_rows(page):
    return page.get_by_role("region", name="Receipts and invoices").first.locator("tbody tr")


def _year_has_passed(user):
    """Move the paid year into the past, as if its end had come (Stripe's clock is the test's)."""
    past = timezone.now() - timedelta(days=366)
    MembershipPeriod.objects.filter(membership__user=user).update(
        granted_at=past, starts_at=past, ends_at=timezone.now() - timedelta(minutes=1)
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_a_non_member_joins_by_card_and_opens_what_was_refused(page, library, person, width):
    page.set_viewport_size({"width": width, "height": 900})

    manual_file = library.get_children().get(slug="pcoms-manual").specific.document.url
    page.goto(manual_file)
    expect(page.locator("main h1")).to_have_text(REFUSED)
    page.goto(MANUAL_PAGE)
    expect(page.locator("main h1")).to_have_text(REFUSED)
    expect(page.locator("main")).not_to_contain_text("PLACEHOLDER")
    assert_fits_and_accessible(page)
    page.get_by_role("link", name="Become a member").click()

    expect(page.locator("main h1")).to_have_text("Your membership")
    expect(page.locator("main")).to_contain_text("You are not a member yet.")
    plan = page.get_by_role("article", name="Member site, 1 year")
    expect(plan).to_contain_text("$120.00 per year")
    expect(plan.get_by_role("button", name=JOIN_BY_CARD)).to_be_visible()
    assert_fits_and_accessible(page)

    join_by_card(page)
    until = member_until(page)
    expected_end = timezone.now() + timedelta(days=365)
    assert abs((until - expected_end.date()).days) <= 1, until
    expect(page.locator("main")).to_contain_text(
        f"Member site, 1 year renews automatically. Next charge: $120.00 on {until:{DAY}}"
    )
    expect(receipt_rows(page)).to_have_count(1)
    expect(receipt_rows(page)).to_contain_text("Member site, 1 year · First period")
    expect(receipt_rows(page).get_by_role("link", name=re.compile(r"^Receipt R-"))).to_be_visible()
    assert_fits_and_accessible(page)

    page.goto(MANUAL_PAGE)
    expect(page.locator("main h1")).to_have_text(MANUAL)
    assert_fits_and_accessible(page)
    with page.expect_download() as downloading:
        page.get_by_role("link", name=f"Download “{MANUAL}”").click()
    text = Path(downloading.value.path()).read_text(encoding="utf-8")
    assert text.startswith(MANUAL)
    assert page.request.get(manual_file).ok  # the file's own address, refused before
    if width < 800:
        page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Members' library")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_renewal_paid_by_stripe_shows_the_next_year_and_a_second_receipt(
    page, person, fake_stripe, width
):
    page.set_viewport_size({"width": width, "height": 900})
    subscription = joined(page)
    first_end = member_until(page)

    fake_stripe.renew_subscription(subscription.stripe_subscription_id)
    page.reload()

    second_end = member_until(page)
    assert 365 <= (second_end - first_end).days <= 366, (first_end, second_end)
    expect(page.locator("main")).to_contain_text(f"Next charge: $120.00 on {second_end:{DAY}}")
    rows = receipt_rows(page)
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Member site, 1 year · Renewal")).to_contain_text("Paid")
    expect(rows.get_by_role("link", name=re.compile(r"^Receipt R-"))).to_have_count(2)
    assert_fits_and_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_failed_renewal_keeps_the_library_open_for_the_grace_then_closes_it(
    page, person, fake_stripe, width
):
    page.set_viewport_size({"width": width, "height": 900})
    subscription = joined(page)
    _year_has_passed(person)

    fake_stripe.renew_subscription(subscription.stripe_subscription_id, succeed=False)
    page.reload()

    grace_end = timezone.now() + timedelta(days=14)
    main = page.locator("main")
    expect(main).to_contain_text(
        f"Your renewal payment failed. You keep access until {grace_end:{DAY}}"
    )
    expect(main).to_contain_text("Your last renewal payment failed. We will try the card again")
    expect(page.get_by_role("button", name="Manage membership (card, cancel)")).to_be_visible()
    assert_fits_and_accessible(page)
    page.goto(MANUAL_PAGE)
    expect(page.locator("main h1")).to_have_text(MANUAL)

    fake_stripe.end_unpaid_subscription(subscription.stripe_subscription_id)
    page.goto(MEMBERSHIP)

    ended = timezone.now() - timedelta(minutes=1)
    expect(main).to_contain_text(
        f"Your membership ended on {ended:{DAY}}. Join again below to open the members' library."
    )
    expect(main).not_to_contain_text("You keep access until")
    expect(page.get_by_role("heading", name="Renew or extend")).to_be_visible()
    expect(page.get_by_role("button", name=JOIN_BY_CARD)).to_be_visible()
    assert_fits_and_accessible(page)
    page.goto(MANUAL_PAGE)
    expect(page.locator("main h1")).to_have_text(REFUSED)
    assert_fits_and_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_cancelling_in_the_portal_keeps_the_year_paid_for(page, person, width):
    page.set_viewport_size({"width": width, "height": 900})
    joined(page)
    until = member_until(page)

    page.get_by_role("button", name="Manage membership (card, cancel)").click()
    expect(page.get_by_role("heading", name="Manage your subscription")).to_be_visible()
    expect(page.get_by_role("region", name="Member site, 1 year")).to_contain_text(
        "120.00 USD per year"
    )
    page.get_by_role("button", name="Cancel subscription").click()
    expect(page.get_by_role("button", name="Renew subscription")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Return to ")).click()

    expect(page.locator("main h1")).to_have_text("Your membership")
    expect(page.locator("main")).to_contain_text(
        f"You cancelled the renewal. Your membership stays open until {until:{DAY}}, and "
        "nothing more is charged."
    )
    assert member_until(page) == until
    expect(page.locator("main")).not_to_contain_text("renews automatically")
    assert_fits_and_accessible(page)
    page.goto(MANUAL_PAGE)
    expect(page.locator("main h1")).to_have_text(MANUAL)
