"""Staff screens as staff meet them, at desktop and phone widths (issue 15, items 3, 4, 16).

Finance reads an order's history as sentences with money and local times and refunds what the
cancellation policy gives, only after ticking a confirmation; staff type prices, add-ons,
discounts and cancellation fees in dollars; the admin home lists what needs attention, each
item a link to its screen, under sidebar labels that fit, and there is one editors group.
"""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django.utils.dateformat import format as date_format
from playwright.sync_api import expect

from certification.factories import make_body, make_offering, make_registration, make_sponsor
from certification.factories import make_event as make_ce_event
from certification.models import CreditBasis, EvaluationResponse
from certification.trainers import services as trainers
from cms.roles import EDITOR, EVENT_MANAGER, FINANCE
from courses import attendance
from courses.factories import UserFactory, make_event
from courses.models import TicketType
from payments import services
from payments.models import DiscountCode, EventPaymentSettings, Order, Refund
from tests.accounts_support import (
    acting_with_second_factor,
    log_in_browser,
    make_staff_in_role,
    make_staff_with_totp,
)
from tests.browser.conftest import assert_accessible
from tests.browser.test_site_walk_money import assert_no_sideways_scroll
from tests.fakestripe.helpers import hold_seats, running_fake_stripe
from tests.integration.test_ce_broker_roster import certified, florida_body
from tests.trainers_support.builders import build_track, lead, person, reviewer, start_submission

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]


@pytest.fixture
def fake_stripe(settings, live_server):
    yield from running_fake_stripe(
        settings, webhook_url=live_server.url + "/payments/stripe/webhook/"
    )


def paid_conference_order(fake_stripe):
    """A $985.50 seat paid by card, 20 days before an event in New York whose policy keeps a
    $50.00 fee between 30 and 7 days before the start."""
    event = make_event(
        title="Training of Trainers Conference",
        price=98550,
        starts_in=timedelta(days=20),
        time_zone="America/New_York",
    )
    EventPaymentSettings.objects.create(
        event=event, full_refund_days_before=30, no_refund_days_before=7, cancellation_fee=5000
    )
    buyer = UserFactory(email="tess@example.org", legal_name="Tess Therapist")
    order = services.order_for_booking(hold_seats(event=event, buyer=buyer))
    services.start_card_checkout(order, success_url="http://x/ok", cancel_url="http://x/no")
    order.refresh_from_db()
    fake_stripe.complete_session(order.stripe_checkout_session_id)  # posts the webhook
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


@pytest.mark.parametrize("width", WIDTHS)
def test_finance_reads_the_timeline_and_refunds_what_the_policy_gives(page, fake_stripe, width):
    page.set_viewport_size({"width": width, "height": 900})
    order = paid_conference_order(fake_stripe)
    log_in_browser(page, make_staff_in_role(FINANCE), second_factor=True)

    page.goto(f"/admin/finance/orders/{order.public_id}/")

    timeline = page.locator("table", has=page.get_by_role("columnheader", name="What happened"))
    expect(timeline).to_contain_text("Card checkout for $985.50: paid.")
    expect(timeline).to_contain_text("Order moved from awaiting payment to paid.")
    raw = timeline.inner_text()
    assert "payments.order" not in raw and "{'" not in raw and "98550" not in raw, raw
    # The time of the payment as New York reads it, not UTC.
    paid_at = order.payments.get().created_at.astimezone(ZoneInfo("America/New_York"))
    expect(timeline).to_contain_text(date_format(paid_at, "j M Y, g:i:s A"))
    expect(page.locator("main")).to_contain_text(
        "Times are in the event's time zone, America/New_York."
    )

    # The form starts at what the policy gives today (the $50.00 fee kept), not $985.50.
    expect(page.locator("main")).to_contain_text(
        "cancelling every seat today gives back $935.50: the amount below starts there"
    )
    amount = page.get_by_label(re.compile("Amount to refund"))
    expect(amount).to_have_value("935.50")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    # Without the tick nothing is refunded, and the page says why.
    confirm = page.get_by_label("Yes, refund this amount to the buyer")
    expect(confirm).not_to_be_checked()
    confirm.evaluate("box => box.removeAttribute('required')")  # the server's own refusal
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator(".messages")).to_contain_text(
        "Nothing was refunded: tick the box to confirm the refund."
    )
    assert not Refund.objects.filter(order=order).exists()
    assert fake_stripe_refunds(fake_stripe) == []

    page.get_by_label("Yes, refund this amount to the buyer").check()
    page.get_by_role("button", name="Refund", exact=True).click()

    expect(page.locator(".messages")).to_contain_text("Refund of $935.50: succeeded")
    assert Refund.objects.get(order=order).amount == 93550
    expect(timeline).to_contain_text("Refund of $935.50")
    assert_no_sideways_scroll(page)
    # Wagtail fades its messages in; axe reads colours mid-fade as too faint, so wait.
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    assert_accessible(page)


def fake_stripe_refunds(fake_stripe):
    return [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_type_prices_fees_and_discounts_in_dollars(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    # No CE promised (no CE add-on, no CE minutes), so the editor may publish it without a
    # CE offering.
    starts = timezone.now() + timedelta(days=30)
    event = make_event(
        title="FIT Supervision Training",
        price=45000,
        add_ons=[("Printed workbook", 5000, False)],
        sessions=[("Day 1", starts, 360, 0)],
    )
    manager = make_staff_in_role(EVENT_MANAGER, email="events@example.org")
    log_in_browser(page, manager, second_factor=True)

    # The event editor shows the ticket and add-on prices in dollars and takes dollars back.
    page.goto(f"/admin/pages/{event.pk}/edit/")
    page.get_by_role("tab", name="Registration").click()
    ticket_price = page.locator("#id_ticket_types-0-price")
    expect(ticket_price).to_have_value("450.00")
    expect(page.locator("#id_add_ons-0-price")).to_have_value("50.00")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    ticket_price.fill("395.00")
    page.locator("footer").get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()
    # Publishing saves the revision, the page and its ticket rows and moves the content
    # generation: on a loaded CI machine that took longer than expect's 5 s once.
    expect(page.locator(".messages")).to_contain_text("has been published", timeout=30_000)
    assert TicketType.objects.get(event_id=event.pk).price == 39500

    page.context.clear_cookies()
    log_in_browser(page, make_staff_in_role(FINANCE), second_factor=True)

    page.goto("/admin/payments_discount_codes/new/")
    page.get_by_label("Code").fill("EARLY")
    page.get_by_label("Kind").select_option(label="Fixed amount off")
    page.get_by_label("Amount off").fill("450.00")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("main")).to_contain_text("$450.00 off")
    code = DiscountCode.objects.get()
    assert code.amount_off == 45000
    page.goto(f"/admin/payments_discount_codes/edit/{code.pk}/")
    expect(page.get_by_label("Amount off")).to_have_value("450.00")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.goto("/admin/payments_event_settings/new/")
    page.get_by_label("Event").select_option(label=event.title)
    page.get_by_label("Cancellation fee").fill("50.00")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("main")).to_contain_text("$50.00")
    settings_row = EventPaymentSettings.objects.get(event=event)
    assert settings_row.cancellation_fee == 5000
    page.goto(f"/admin/payments_event_settings/edit/{settings_row.pk}/")
    expect(page.get_by_label("Cancellation fee")).to_have_value("50.00")
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def what_needs_attention():
    """One of each thing the admin home must point at; returns {link text: (href, what the
    screen it opens shows)}."""
    upcoming = make_event(
        title="FIT Supervision Training", capacity=12, starts_in=timedelta(days=20)
    )
    invoiced = hold_seats(event=make_event(title="Agency Day", starts_in=timedelta(days=40)))
    Order.objects.create(
        booking=invoiced,
        event=invoiced.event,
        purchaser=invoiced.purchaser,
        email=invoiced.purchaser.email,
        status=Order.Status.PENDING,
        payment_method=Order.Method.INVOICE,
        invoice_due_date=timezone.localdate() - timedelta(days=3),
        subtotal=45000,
        total=45000,
        currency="USD",
    )
    make_sponsor()
    workshop = make_ce_event("Outcome Measures Workshop")
    make_offering(workshop, make_body("APA", minutes_per_credit=60))
    registration = make_registration(workshop, name="Ana Souza")
    for session in workshop.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=workshop)
    florida = make_ce_event("Measuring What Matters", starts=timezone.now() - timedelta(days=5))
    make_offering(florida, florida_body(credit_basis=CreditBasis.FULL_PROGRAM), course_number="1")
    certified(florida, "Bob Brown", "SW22222")
    track = build_track()
    submission = start_submission(track, person("candidate@example.org", "Cara Candidate"))
    submission.status = submission.Status.READY
    submission.save(update_fields=["status"])
    trainers.assign_reviewer(
        submission,
        reviewer("rev@example.org", "Rita Reviewer"),
        actor=acting_with_second_factor(lead()),
        due_at=timezone.now() - timedelta(days=1),
    )
    return {
        f"{upcoming.title}, {date_format(timezone.localtime(upcoming.starts_at), 'j M Y')}": (
            "/admin/events-admin/",
            "FIT Supervision Training",
        ),
        "1 invoice is overdue": ("/admin/finance/orders/?overdue=1", "Agency Day"),
        "1 attendee of Outcome Measures Workshop is eligible for a CE certificate not yet issued": (
            f"/admin/ce/events/{workshop.pk}/",
            "Ana Souza",
        ),
        "1 video review is overdue": ("/admin/certification/queue/", "Cara Candidate"),
        "CE Broker roster of Measuring What Matters: 1 licensee not yet reported": (
            f"/admin/ce/events/{florida.pk}/",
            "Bob Brown",
        ),
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_home_lists_what_needs_attention_each_a_link_to_its_screen(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    items = what_needs_attention()
    staff, _secret = make_staff_with_totp(is_superuser=True)  # the demo's all-roles account
    log_in_browser(page, staff, second_factor=True)

    page.goto("/admin/")
    panel = page.get_by_role("region", name="Needs your attention")
    for label, (href, _shows) in items.items():
        expect(panel.get_by_role("link", name=label)).to_have_attribute("href", href)
    expect(panel).to_contain_text("12 of 12 seats left")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    for label, (href, shows) in items.items():
        page.goto("/admin/")
        page.get_by_role("region", name="Needs your attention").get_by_role(
            "link", name=label
        ).click()
        expect(page.locator("main")).to_contain_text(shows)
        assert page.url.endswith(href), page.url
        assert_no_sideways_scroll(page)
        assert_accessible(page)

    # One group for editors: the role "Editor", not Wagtail's starter "Editors" beside it.
    page.goto("/admin/groups/")
    groups = page.locator("main")
    expect(groups.get_by_role("link", name=EDITOR, exact=True)).to_have_count(1)
    expect(groups.get_by_role("link", name="Editors", exact=True)).to_have_count(0)
    assert_accessible(page)


# Sidebar menu labels whose text is wider than the space they get (Wagtail cuts them with
# an ellipsis).
CUT_LABELS = """() => [...document.querySelectorAll("#wagtail-sidebar .menuitem-label")]
    .filter(label => label.getClientRects().length && label.scrollWidth > label.clientWidth)
    .map(label => `${label.textContent.trim()}`
        + ` (${label.scrollWidth} px of text in ${label.clientWidth} px)`)"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_admin_sidebar_labels_fit(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    staff, _secret = make_staff_with_totp(is_superuser=True)  # sees every menu item
    log_in_browser(page, staff, second_factor=True)

    page.goto("/admin/")
    if width < 800:  # on a phone the menu opens from a button
        page.get_by_role("button", name="Toggle sidebar").click()
    labels = page.locator("#wagtail-sidebar .menuitem-label")
    expect(labels.filter(has_text="Finance")).to_be_visible()
    assert labels.count() >= 8
    assert page.evaluate(CUT_LABELS) == []
    assert_accessible(page)
