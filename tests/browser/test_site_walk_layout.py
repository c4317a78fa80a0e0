"""The header on a phone: collapsed behind "Menu" from the first paint (no layout shift when
site.js runs), opened by the button; at desktop width the navigation is simply there."""

import pytest
from playwright.sync_api import expect

from courses.factories import make_event
from courses.models import EventFormat

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LAYOUT_SHIFT = """() => new Promise(resolve => {
    let total = 0;
    new PerformanceObserver(list => {
        for (const entry of list.getEntries()) {
            if (!entry.hadRecentInput) total += entry.value;
        }
    }).observe({type: "layout-shift", buffered: true});
    setTimeout(() => resolve(total), 500);
})"""


def test_phone_header_does_not_jump_and_the_menu_opens(page):
    event = make_event(title="Training of Trainers Conference", format=EventFormat.CONFERENCE)
    page.set_viewport_size({"width": 390, "height": 844})
    for url in [event.url, "/accounts/login/"]:
        page.goto(url)
        page.wait_for_load_state("load")
        shift = page.evaluate(LAYOUT_SHIFT)
        assert shift < 0.1, f"{url}: cumulative layout shift {shift:.3f}"
        nav = page.locator("#site-nav")
        expect(nav).to_have_count(1)
        expect(nav).to_be_hidden()
        page.get_by_role("button", name="Menu").click()
        expect(nav).to_be_visible()
        expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "true")


def test_phone_header_is_collapsed_before_site_js_runs(page):
    """The collapsed header comes from the stylesheet, not from site.js: with the script held
    back (here: never delivered), the page already shows "Menu", not the open navigation
    that would jump shut when the script ran."""
    event = make_event(title="Training of Trainers Conference", format=EventFormat.CONFERENCE)
    page.set_viewport_size({"width": 390, "height": 844})
    page.route("**/dist/site.js", lambda route: route.abort())
    page.goto(event.url)
    expect(page.locator("#site-nav")).to_have_count(1)
    expect(page.locator("#site-nav")).to_be_hidden()
    expect(page.locator(".site-header .nav-toggle")).to_be_visible()


def test_desktop_shows_the_navigation_without_a_menu_button(page):
    event = make_event(title="FIT Supervision", format=EventFormat.WORKSHOP)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(event.url)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
