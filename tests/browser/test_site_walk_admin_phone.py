"""The staff screens made to fit a phone (commit 43557be) still fit at 390 px: the CE event's
attendee table and the orders table scroll inside a labelled region, the orders and transcript
search fields fit, and a certificate's SHA-256 breaks instead of running off.

Wagtail's admin hides what runs past the right edge of its <main> at phone width, so the page
never scrolls sideways there and the site walk's page-overflow check cannot see it
(tests/browser/test_site_walk_all_pages.py skips its CLIPPED check on /admin/). This is that
check made stricter for staff screens: any element of the main content reaching past the
viewport fails unless it sits inside a scroll region a keyboard and a screen reader can find
(role="region" with an accessible name, focusable).
"""

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from certification.factories import make_event as make_ce_event
from certification.factories import make_offering, make_sponsor
from certification.models import CreditBasis
from cms.roles import CE_ADMINISTRATOR, FINANCE
from payments import services
from tests.accounts_support import log_in_browser, make_staff_in_role
from tests.browser.conftest import assert_accessible
from tests.browser.test_site_walk_all_pages import OVERFLOW
from tests.fakestripe.helpers import hold_seats
from tests.integration.test_ce_broker_roster import certified, florida_body

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Elements of the admin's main content cut off at the right edge: reaching past the viewport
# and not inside a labelled, focusable region that scrolls sideways. Only the outermost such
# element is named, as the site walk's CLIPPED check does.
CUT_OFF = """() => {
    const limit = document.documentElement.clientWidth;
    const main = document.querySelector("main");
    const inLabelledScroller = (el) => {
        for (let up = el.parentElement; up && up !== main; up = up.parentElement) {
            const overflow = getComputedStyle(up).overflowX;
            if (overflow !== "auto" && overflow !== "scroll") continue;
            return up.getAttribute("role") === "region"
                && (up.getAttribute("aria-label") || up.getAttribute("aria-labelledby"))
                && up.tabIndex >= 0
                && up.getBoundingClientRect().right <= limit + 1;
        }
        return false;
    };
    const cut = [];
    for (const el of main.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        if (box.width < 2 || box.height < 2 || box.right <= limit + 1) continue;
        const style = getComputedStyle(el);
        if (style.visibility === "hidden" || style.position === "fixed") continue;
        if (inLabelledScroller(el)) continue;
        if (el.parentElement !== main
            && el.parentElement.getBoundingClientRect().right > limit + 1) continue;
        const classes = typeof el.className === "string" && el.className
            ? "." + el.className.trim().split(/\\s+/).join(".") : "";
        const text = (el.textContent || "").trim().slice(0, 40);
        cut.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes}`
            + ` "${text}" (right edge ${Math.round(box.right)} px)`);
        if (cut.length >= 4) break;
    }
    return cut;
}"""


def ce_event_with_certificates():
    """A finished Florida CE event with two certified attendees whose long names and license
    numbers make the attendee table wider than a phone."""
    make_sponsor()
    event = make_ce_event("Measuring What Matters in Community Mental Health")
    make_offering(event, florida_body(credit_basis=CreditBasis.FULL_PROGRAM), course_number="1")
    first = certified(event, "Maria Fernanda Castellanos Whitfield", "SW11111")
    certified(event, "Bartholomew Brown-Okonkwo", "SW22222")
    return event, first


def orders():
    """Two card orders awaiting payment, on an event with a long title."""
    return [
        services.order_for_booking(hold_seats(price=98550, title=title))
        for title in (
            "Training of Trainers Conference: Feedback-Informed Treatment in Practice",
            "Supervising with Outcome Measures: an Advanced Workshop for Agencies",
        )
    ]


def staff_for_finance_and_ce(page):
    staff = make_staff_in_role(FINANCE, email="finance.ce@example.org")
    staff.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    log_in_browser(page, staff, second_factor=True)


def problems_on(page, screens):
    """Each screen opened: it shows what it must, and nothing runs off its right edge."""
    problems = []
    for path, shows in screens.items():
        page.goto(path)
        expect(page.locator("main")).to_contain_text(shows)
        overflow = page.evaluate(OVERFLOW)
        if overflow:
            problems.append(f"{path}: the page scrolls sideways: {overflow['culprits']}")
        cut = page.evaluate(CUT_OFF)
        if cut:
            problems.append(f"{path}: cut off at the right edge: {', '.join(cut)}")
        assert_accessible(page)
    return problems


@pytest.mark.parametrize("width", [390, 1280])
def test_wide_tables_scroll_in_labelled_regions_and_the_hash_breaks(page, width):
    page.set_viewport_size({"width": width, "height": 844})
    event, certificate = ce_event_with_certificates()
    order = orders()[0]
    staff_for_finance_and_ce(page)

    problems = problems_on(
        page,
        {
            f"/admin/ce/events/{event.pk}/": "Maria Fernanda Castellanos Whitfield",
            f"/admin/finance/orders/{order.public_id}/": "Training of Trainers Conference",
            f"/admin/ce/certificates/{certificate.code}/": certificate.pdf_sha256[:32],
        },
    )
    assert problems == [], "\n".join(problems)

    # The attendee table and the orders table are each in a named region that fits the
    # screen; on a phone the table inside is wider, and the region scrolls.
    for path, name, shows in (
        (f"/admin/ce/events/{event.pk}/", "Attendees and their certificate status", "Bartholomew"),
        ("/admin/finance/orders/", "Orders", order.reference),
    ):
        page.goto(path)
        region = page.get_by_role("region", name=name)
        expect(region.get_by_role("table")).to_contain_text(shows)
        fits, scrolls = region.evaluate(
            """region => [region.getBoundingClientRect().right <= innerWidth,
                          region.scrollWidth > region.clientWidth]"""
        )
        assert fits, f"{path}: the region {name!r} runs past the screen"
        assert scrolls == (width < 800), f"{path}: the region {name!r} scrolls: {scrolls}"
        assert_accessible(page)


@pytest.mark.parametrize("width", [390])
def test_the_search_fields_fit_a_phone(page, width):
    page.set_viewport_size({"width": width, "height": 844})
    ce_event_with_certificates()
    order = orders()[0]
    staff_for_finance_and_ce(page)

    problems = problems_on(
        page,
        {
            "/admin/finance/orders/": order.reference,
            "/admin/ce/transcripts/?q=brown": "Bartholomew Brown-Okonkwo",
        },
    )
    assert problems == [], "\n".join(problems)
