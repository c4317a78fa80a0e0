"""Issue 15, items 6, 7, 9 and 11 in Chromium at desktop and phone widths, as an attendee
meets them: links printed on the address the site is served from, "Add to calendar" where
the event is, My CE per body, and the small flaws (stray separators, date styles, a closed
registration said once, the rating hint before the options, `/search/?q=`)."""

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from wagtail.models import Site

from certification import services as ce_services
from certification.factories import make_body, make_offering, make_registration, make_sponsor
from certification.factories import make_event as make_ce_event
from certification.models import CreditBasis, EvaluationQuestion, EvaluationResponse, QuestionKind
from courses import attendance
from courses.factories import make_event
from courses.models import EventFormat, TicketType
from tests.accounts_support import log_in_browser, make_member
from tests.browser.conftest import assert_accessible, last_email, links_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
# Host names that mean "this site" (what a wrong-port link would be printed on).
LOCAL_HOSTS = {"127.0.0.1", "localhost", "testserver", "0.0.0.0"}  # noqa: S104


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def assert_fits_and_accessible(page):
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def pdf_text(data):
    """The PDF's text as pdftotext lays it out, whitespace collapsed."""
    result = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return " ".join(result.stdout.decode("utf-8").split())


def single_seat_free_event(**fields):
    """A free event a signed-in member registers for in one step (one seat per order)."""
    event = make_event(**fields)
    TicketType.objects.filter(event=event).update(name="Free registration", max_per_order=1)
    return event


def register_in_one_step(page, event):
    page.goto(event.url)
    page.get_by_role("region", name="Registration").get_by_role(
        "button", name="Register (free)"
    ).click()
    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()


def serve_on(live_server, settings):
    """The site on the live server's address as `make run` sets it up: SITE_URL from HOST
    and PORT. The Wagtail Site record is left at another address on purpose: links printed
    for outside the site follow SITE_URL alone, whatever that record says."""
    settings.SITE_URL = live_server.url
    Site.objects.filter(is_default_site=True).update(hostname="localhost", port=80)
    return urlsplit(live_server.url)


def utc_stamp(moment):
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def issued_certificate(member, title):
    """A CE certificate of `member` for a workshop that ended two days ago."""
    make_sponsor()
    event = make_ce_event(title)
    make_offering(event, make_body("APA"))
    registration = make_registration(event, name=member.legal_name, user=member)
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return ce_services.issue_certificate(registration, notify=False)


# -- item 6: links printed by the site use the served address ---------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_links_the_site_prints_use_the_address_it_is_served_on(page, live_server, settings, width):
    served = serve_on(live_server, settings)
    page.set_viewport_size({"width": width, "height": 900})
    event = single_seat_free_event(title="FIT Supervision Training")
    member = make_member("maria@example.org", "María José Núñez")
    certificate = issued_certificate(member, "Measuring What Matters")
    log_in_browser(page, member)

    # The event page's JSON-LD names the event on the served address.
    page.goto(event.url)
    data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert data["url"] == live_server.url + event.url
    assert_fits_and_accessible(page)

    # Every link to this site in the confirmation email, and the calendar file's, too.
    register_in_one_step(page, event)
    message = last_email(to=member.email)
    own_links = [url for url in links_in(message) if urlsplit(url).hostname in LOCAL_HOSTS]
    assert live_server.url + event.url in own_links
    assert live_server.url + "/registrations/" in own_links
    assert [url for url in own_links if urlsplit(url).netloc != served.netloc] == []
    (ics,) = [content for _name, content, kind in message.attachments if "calendar" in kind]
    ics_text = ics.decode() if isinstance(ics, bytes) else ics
    assert f"URL:{live_server.url}{event.url}" in ics_text.replace("\r\n ", "")

    # The certificate's verification link, on its page and in its PDF.
    page.goto(certificate.get_absolute_url())
    verify_url = live_server.url + certificate.get_verification_url()
    expect(page.get_by_role("link", name="Verification page")).to_have_attribute("href", verify_url)
    assert_fits_and_accessible(page)
    pdf = page.request.get(reverse("certification:certificate_pdf", args=[certificate.code]))
    assert verify_url in pdf_text(pdf.body()).replace(" ", "")


# -- item 7: add to calendar on the event page, the confirmation page and My registrations ----


def assert_calendar_offer(page, event, *, scope=None, with_links=True):
    """The .ics link answers with a calendar of the event; each session's Google and Outlook
    links carry its start and end (UTC), and the page shows its local start."""
    block = (scope or page).locator(".add-to-calendar").first
    ics_link = block.get_by_role(
        "link", name=re.compile(rf"^Add to calendar\s*: {re.escape(event.title)} \(\.ics\)$")
    )
    expect(ics_link).to_be_visible()
    response = page.request.get(ics_link.get_attribute("href"))
    assert response.headers["content-type"].startswith("text/calendar")
    ics = response.text().replace("\r\n ", "")
    assert f"SUMMARY:{event.title}: Day 1" in ics
    if not with_links:
        return
    block.get_by_text("Google or Outlook calendar").click()
    for session in event.sessions.order_by("start"):
        item = block.locator("li", has_text=session.title)
        expect(item).to_contain_text(event.local(session.start).strftime("%-d %B %Y, %-I:%M %p"))
        google = parse_qs(
            urlsplit(
                item.get_by_role("link", name=re.compile("^Google")).get_attribute("href")
            ).query
        )
        assert google["dates"] == [f"{utc_stamp(session.start)}/{utc_stamp(session.end)}"]
        assert google["text"] == [f"{event.title}: {session.title}"]
        outlook = parse_qs(
            urlsplit(
                item.get_by_role("link", name=re.compile("^Outlook")).get_attribute("href")
            ).query
        )
        assert outlook["startdt"] == [session.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]
        assert outlook["enddt"] == [session.end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")]


@pytest.mark.parametrize("width", WIDTHS)
def test_add_to_calendar_where_the_event_is(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    event = single_seat_free_event(
        title="Training of Trainers Conference", days=3, time_zone="America/New_York"
    )
    member = make_member("sam@example.org", "Sam Okafor")
    log_in_browser(page, member)

    page.goto(event.url)
    assert_calendar_offer(page, event)
    assert_fits_and_accessible(page)

    register_in_one_step(page, event)
    assert_calendar_offer(page, event)
    assert_fits_and_accessible(page)

    page.goto("/registrations/")
    card = page.locator("article", has_text=event.title)
    expect(card).to_be_visible()
    # Each booking on My registrations offers the calendar file and per-session links.
    assert_calendar_offer(page, event, scope=card)
    assert_fits_and_accessible(page)


# -- item 9: My CE per body -------------------------------------------------------------------


def three_day_program_with_three_policies():
    """Three 6-hour days that ended last week, approved by bodies with three credit policies."""
    make_sponsor()
    starts = (timezone.now() - timedelta(days=6)).replace(hour=9, minute=0, second=0, microsecond=0)
    event = make_ce_event(
        "Three-Day Intensive",
        starts=starts,
        sessions=[
            ("Day one", starts, 360, 360),
            ("Day two", starts + timedelta(days=1), 360, 360),
            ("Day three", starts + timedelta(days=2), 360, 360),
        ],
    )
    bodies = [
        make_body(
            "FL PSY", name="Florida Board of Psychology", credit_basis=CreditBasis.FULL_PROGRAM
        ),
        make_body("ASWB", name="ASWB ACE", credit_basis=CreditBasis.PER_SESSION),
        make_body(
            "NBCC",
            name="National Board for Certified Counselors",
            minutes_per_credit=50,
            credit_increment=Decimal("0.50"),
            credit_basis=CreditBasis.PER_HOUR,
        ),
    ]
    for body in bodies:
        make_offering(event, body, hours=Decimal("18.00") if body.minutes_per_credit == 60 else 21)
    return event


@pytest.mark.parametrize("width", WIDTHS)
def test_my_ce_gives_each_bodys_hours_the_reason_once_and_what_to_do_next(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    event = three_day_program_with_three_policies()
    member = make_member("devi@example.org", "Devi Delayed")
    registration = make_registration(event, name=member.legal_name, user=member)
    for session in event.sessions.order_by("start"):
        late = timedelta(minutes=40) if session.title == "Day two" else timedelta(0)
        attendance.check_in(registration, session, at=session.start + late)
    EvaluationResponse.objects.create(registration=registration, event=event)
    log_in_browser(page, member)

    page.goto("/ce/")
    card = page.get_by_role("region", name="Waiting for a certificate").locator("li.card")
    expect(card).to_contain_text(event.title)
    credits = card.locator(".credit-list li")
    expect(credits).to_have_text(
        [
            "12.00 hours (60-minute hours) – ASWB: partial credit",
            "0.00 hours (60-minute hours) – FL PSY: only the whole program earns credit",
            "20.50 hours (50-minute hours) – NBCC: partial credit",
        ]
    )
    text = card.inner_text()
    assert text.count("missed 40 minutes of session 2 (Day two)") == 1, text
    expect(card).to_contain_text("Why: missed 40 minutes of session 2 (Day two).")
    expect(card).to_contain_text(
        "What to do next: nothing: the CE administrator issues your certificate and we email it"
    )
    assert_fits_and_accessible(page)


# -- item 11: small flaws -----------------------------------------------------------------------

MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"
# A separator with nothing after it, or an empty part between separators ("Where: , Sarasota").
STRAY_SEPARATOR = re.compile(r"[·,]\s*$|:\s*,|[·,]\s*[·,]", re.MULTILINE)
# The styles the site does not use for people: ISO dates and month-first ranges.
OTHER_DATE_STYLES = re.compile(
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b({MONTH}) \d{{1,2}}[–-]\d{{1,2}}, \d{{4}}"
)


def at_nine(year, month, day):
    return datetime(year, month, day, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def assert_plain_dates_and_separators(locator):
    for line in locator.inner_text().splitlines():
        assert not STRAY_SEPARATOR.search(line.strip()), line
        assert not OTHER_DATE_STYLES.search(line), line


@pytest.mark.parametrize("width", WIDTHS)
def test_online_and_venueless_events_read_cleanly_in_one_date_style(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    year = timezone.now().year + 1
    webinar = single_seat_free_event(
        title="Alliance Webinar",
        format=EventFormat.WEBINAR,
        venue_name="",
        venue_address="",
        time_zone="America/New_York",
        sessions=[("Live webinar", at_nine(year, 2, 1), 90, 90)],
    )
    workshop = single_seat_free_event(
        title="Sarasota Intensive",
        venue_name="",
        venue_address="Sarasota, FL",
        time_zone="America/New_York",
        sessions=[(f"Day {n}", at_nine(year, 2, 1 + n), 360, 360) for n in range(1, 6)],
    )
    member = make_member("lee@example.org", "Lee Reader")
    log_in_browser(page, member)

    page.goto(workshop.get_parent().url)
    when_and_where = page.locator("article.event-card p.card__meta", has=page.locator("time"))
    expect(when_and_where.filter(has_text="Online")).to_have_text(
        f"1 February {year} · Online, 9:00 AM EST"
    )
    expect(when_and_where.filter(has_text="Sarasota")).to_have_text(
        f"2–6 February {year} · Sarasota, FL"
    )
    assert_plain_dates_and_separators(page.locator("main"))
    assert_fits_and_accessible(page)

    page.goto(workshop.url)
    expect(page.locator(".event-when time")).to_have_text(f"2–6 February {year}")
    venue = page.get_by_role("region", name="Venue")
    expect(venue).to_have_text(re.compile(r"^\s*Venue\s+Sarasota, FL\s*$"))
    assert_plain_dates_and_separators(page.locator("main"))
    assert_fits_and_accessible(page)

    for event in (webinar, workshop):
        register_in_one_step(page, event)
        expect(page.locator("main")).to_contain_text(
            re.compile(rf"starting \w+ \d{{1,2}} February {year}")
        )
        assert_plain_dates_and_separators(page.locator("main"))
    where = [
        line
        for message in mail.outbox
        if member.email in message.to
        for line in message.body.splitlines()
        if line.startswith("Where:")
    ]
    assert "Where: Sarasota, FL" in where
    assert any(line.startswith("Where: online.") for line in where), where
    for line in where:
        assert not STRAY_SEPARATOR.search(line), line

    page.goto("/registrations/")
    for event in (webinar, workshop):
        expect(page.locator("article", has_text=event.title)).to_be_visible()
    assert_plain_dates_and_separators(page.locator("main"))
    assert_fits_and_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_closed_registration_the_rating_hint_and_search_by_q(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    closed = make_event(
        title="Closed Early Workshop",
        starts_in=timedelta(days=10),
        registration_closes_at=timezone.now() - timedelta(days=1),
    )
    past = make_ce_event("Measuring What Matters")
    EvaluationQuestion.objects.create(
        event=past, kind=QuestionKind.RATING, prompt="Overall, how was the workshop?"
    )
    member = make_member("ana@example.org", "Ana Souza")
    registration = make_registration(past, name=member.legal_name, user=member)
    log_in_browser(page, member)

    page.goto(closed.url)
    box = page.get_by_role("region", name="Registration")
    expect(box).to_contain_text("Registration closed on")
    assert len(re.findall("closed", box.inner_text(), re.IGNORECASE)) == 1, box.inner_text()
    expect(box.get_by_role("button")).to_have_count(0)
    assert_fits_and_accessible(page)

    page.goto(reverse("certification:evaluation", args=[registration.public_id]))
    rating = page.get_by_role("group", name=re.compile("Overall, how was the workshop"))
    hint = rating.get_by_text("1 = poor, 5 = excellent")
    expect(hint).to_be_visible()
    first_option = rating.get_by_role("radio").first
    # Node.DOCUMENT_POSITION_FOLLOWING (4): the first option comes after the hint.
    assert hint.evaluate(
        "(hint, option) => hint.compareDocumentPosition(option) & 4", first_option.element_handle()
    )
    assert_fits_and_accessible(page)

    page.goto("/search/?q=Closed+Early")
    results = page.locator("ol.search-results")
    expect(results.get_by_role("link", name="Closed Early Workshop")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("1 result for"))).to_be_visible()
    assert_fits_and_accessible(page)
