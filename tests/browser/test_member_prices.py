"""Member prices in a browser, at desktop and phone widths: a member sees the member price at
once on the event and register pages, with no access code, and the summary after the hold, the
fake Stripe Checkout and the confirmation charge it; a non-member sees it with a link to join,
and a members-only ticket they cannot choose."""

import io
import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from cms.demo import ensure_members_library
from courses import services
from courses.demo import MEMBER_GROUP
from courses.factories import make_event, ticket
from courses.models import Booking, PeriodSource
from payments.models import Order
from tests.accounts_support import log_in_browser, make_member
from tests.browser.conftest import assert_accessible
from tests.fakestripe.helpers import running_fake_stripe

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
HOW_TO_JOIN = "<p>A year of membership comes with the Training of Trainers Conference.</p>"


@pytest.fixture
def event():
    """$450.00, or $405.00 for members, and a members-only rate."""
    event = make_event(title="Feedback-informed supervision", price=45000)
    event.ticket_types.update(member_price=40500)
    ticket(event, name="Members' rate", price=30000, members_only=True)
    return event


@pytest.fixture
def library(event):
    group, _ = Group.objects.get_or_create(name=MEMBER_GROUP)
    return ensure_members_library(group, HOW_TO_JOIN, io.StringIO())


@pytest.fixture
def member(library):
    """Martha, a member for the year (a period bought, as by card)."""
    person = make_member("martha@example.org", "Martha Member", profession="Counselor")
    services.add_period(
        person,
        group_id=Group.objects.get(name=MEMBER_GROUP).pk,
        months=12,
        source=PeriodSource.PURCHASE,
        reference="order:browser",
        now=timezone.now(),
        actor=person,
    )
    return person


@pytest.fixture
def fake_stripe(settings, live_server):
    """The fake Stripe, whose webhooks reach the live server the browser uses."""
    yield from running_fake_stripe(
        settings, webhook_url=live_server.url + "/payments/stripe/webhook/"
    )


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_sees_and_holds_at_the_member_price(page, event, member, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in_browser(page, member)

    page.goto(reverse("courses:register", args=[event.pk]))
    standard = page.get_by_label(re.compile("^Standard"))
    expect(page.locator("main")).to_contain_text("was $450.00 $405.00 member price")
    expect(page.locator("main del")).to_have_text("was $450.00")
    expect(page.get_by_label(re.compile("^Members' rate"))).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Join to get this price")
    expect(page.get_by_label("Access code")).to_have_count(0)
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    standard.fill("1")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    page.get_by_role("button", name="Continue to summary").click()

    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    prices = page.get_by_role("region", name="Price")
    expect(prices).to_contain_text("Standard (member price)")
    expect(prices).to_contain_text("$405.00")
    expect(prices).not_to_contain_text("$450.00")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    assert Booking.objects.get().registrations.get().unit_price == 40500


@pytest.mark.parametrize("width", WIDTHS)
def test_a_non_member_sees_the_member_price_and_the_way_to_join(page, event, library, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in_browser(page, make_member("nora@example.org", "Nora Nonmember"))

    page.goto(reverse("courses:register", args=[event.pk]))
    main = page.locator("main")
    expect(page.get_by_label(re.compile("^Standard"))).to_be_visible()
    expect(main).to_contain_text("Standard $450.00 Members pay $405.00.")
    join_for_price = page.get_by_role("link", name="Join to get this price")
    expect(join_for_price).to_have_attribute("href", library.url)
    # The members-only rate is shown, with no input to choose it and the way to join.
    expect(main).to_contain_text("Members' rate $300.00 Members only")
    expect(page.get_by_label(re.compile("^Members' rate"))).to_have_count(0)
    expect(page.get_by_role("link", name="Join to book it")).to_have_attribute("href", library.url)
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    join_for_price.click()
    expect(page.locator("main h1")).to_have_text("Members' library is for members")
    expect(page.get_by_role("region", name="How to join")).to_contain_text(
        "A year of membership comes with the Training of Trainers Conference."
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_price_is_seen_on_the_event_page_and_paid_by_card(
    page, event, member, fake_stripe, width
):
    # The fake Stripe stands in for checkout.stripe.com; it is the one other host allowed.
    page.problems.allowed_host.add(urlsplit(fake_stripe.base_url).hostname)
    page.set_viewport_size({"width": width, "height": 900})
    log_in_browser(page, member)

    page.goto(event.url)
    box = page.get_by_role("region", name="Registration")
    expect(box).to_contain_text("Standard was $450.00 $405.00 member price")
    expect(box.locator("del")).to_have_text("was $450.00")
    expect(box).not_to_contain_text("Members pay")
    expect(box.get_by_label(re.compile("^Members' rate"))).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    box.get_by_label(re.compile("^Standard")).fill("1")
    box.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    page.get_by_role("button", name="Continue to summary").click()
    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    expect(page.get_by_role("region", name="Price")).to_contain_text("Standard (member price)")
    page.get_by_role("link", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Pay for your registration")).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    page.get_by_role("button", name="Pay $405.00 by card").click()

    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_role("heading", name="You're registered")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text("We received your payment of $405.00")
    assert "$450.00" not in main.inner_text()
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    order = Order.objects.get(purchaser=member)
    assert (order.status, order.total) == (Order.Status.PAID, 40500)
    session = fake_stripe.sessions[order.stripe_checkout_session_id]
    [line] = session["_line_items"]
    assert (line["description"], line["quantity"]) == (f"{event.title}: Standard (member price)", 1)
    assert line["price"]["unit_amount"] == 40500
    assert session["amount_total"] == 40500
