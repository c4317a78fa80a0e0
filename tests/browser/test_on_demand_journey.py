"""Issue 17's "Done when", in Chromium at desktop and phone widths: an attendee buys a paid
on-demand course by card (the real order and the fake Stripe's hosted Checkout), watches it in
the real player (its heartbeats are what count), fails and then passes the post-test, submits
the evaluation and downloads a home-study certificate; then a CE administrator, signed in with
a second factor, exports the CE Broker roster and finds the attendee under the course's own
home-study course number."""

import re
import subprocess
from urllib.parse import urlsplit

import pytest
import xlrd
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from cms.roles import CE_ADMINISTRATOR
from tests.accounts_support import log_in_browser, make_member, make_staff_with_totp
from tests.browser.conftest import assert_accessible
from tests.browser.test_on_demand_watching import SECONDS, real_mp4  # noqa: F401 - a fixture
from tests.browser.test_post_test import QUESTIONS, answer
from tests.fakestripe.helpers import running_fake_stripe
from tests.integration.test_home_study_roster import (
    HOME_STUDY_COURSE_NUMBER,
    HOME_STUDY_STATEMENT,
    LIVE_COURSE_NUMBER,
    home_study_course,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

NAME = "Hope Homestudy"
LICENSE = "SW12345"


@pytest.fixture
def fake_stripe(settings, live_server):
    yield from running_fake_stripe(
        settings, webhook_url=live_server.url + "/payments/stripe/webhook/"
    )


def pdf_text(path):
    text = subprocess.run(  # noqa: S603 - fixed arguments
        ["pdftotext", "-raw", str(path), "-"],  # noqa: S607 - poppler-utils on PATH
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    return " ".join(text.split())


def no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def buy_by_card(page, course):
    """From the course page to the paid confirmation, asking for CE with a Florida license."""
    page.goto(course.url)
    expect(page.locator("main")).to_contain_text(
        "On demand: watch the recording at any time, at your own pace."
    )
    page.get_by_label(re.compile("^Standard")).fill("1")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Who is attending?")).to_be_visible()
    page.get_by_label("Profession").fill("LCSW")
    wants_ce = page.get_by_label("I want continuing-education (CE) credit")
    expect(wants_ce, "the attendee step offers no CE for the course").to_be_visible()
    wants_ce.check()
    page.get_by_label("License issued by").select_option("FL")
    page.get_by_label("License number").fill(LICENSE)
    page.get_by_role("button", name="Continue to summary").click()
    expect(page.get_by_role("heading", name="Check your registration")).to_be_visible()
    page.get_by_role("link", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Pay for your registration")).to_be_visible()
    expect(page.locator("main")).to_contain_text("$45.00")
    page.get_by_role("button", name="Pay $45.00 by card").click()

    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    page.get_by_role("button", name="Pay").click()
    expect(page.get_by_role("heading", name="You're registered")).to_be_visible()
    expect(page.locator("main")).to_contain_text("We received your payment of $45.00")


def watch_to_the_end(page):
    page.get_by_role("link", name="Go to my registrations").click()
    page.get_by_role("link", name="Watch the recordings").click()
    expect(page.locator("main")).to_contain_text("You have watched 0% of the course.")
    no_sideways_scroll(page)
    page.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; "
                  "await v.play(); }")  # fmt: skip
    page.wait_for_function(
        "() => document.querySelector('video').ended", timeout=(SECONDS + 20) * 1000
    )
    # The player's report at the end is what the server kept: the page shows its answer.
    expect(page.locator("[data-course-percent]")).to_have_text("100%")
    page.reload()
    expect(page.locator("main")).to_contain_text("You have watched 100% of the course.")


def fail_then_pass_the_post_test(page):
    page.goto("/ce/")
    page.get_by_role("link", name="Take the post-test").click()
    expect(page.get_by_text("0 of 3")).to_be_visible()
    page.get_by_role("button", name="Start the post-test").click()
    answer(page, right=False)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("You scored 0%. The pass mark is 75%.")).to_be_visible()
    expect(page.get_by_text("You can try again now.")).to_be_visible()

    page.get_by_role("link", name="Back to the post-test overview").click()
    page.get_by_role("button", name="Try the post-test again").click()
    answer(page, right=True)
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_text("You scored 100%. The pass mark is 75%.")).to_be_visible()
    no_sideways_scroll(page)


def evaluate_and_download(page, tmp_path):
    page.goto("/ce/")
    expect(page.locator("main")).to_contain_text("Post-test passed on")
    expect(page.locator("main")).to_contain_text("Missing evaluation")
    page.get_by_role("link", name="Complete the evaluation").click()
    page.get_by_role("group", name=re.compile("How useful was the course")).get_by_label(
        "5"
    ).check()
    page.get_by_role("button", name="Submit evaluation").click()
    expect(page.locator("main")).to_contain_text("Your certificate is ready")
    expect(page.locator("main")).to_contain_text(NAME)
    assert_accessible(page)
    no_sideways_scroll(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    saved = tmp_path / "certificate.pdf"
    download_info.value.save_as(saved)
    return pdf_text(saved)


def export_roster(browser, live_server, course, width, tmp_path):
    """A CE administrator, signed in with a second factor, downloads the CE Broker roster."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    staff = context.new_page()
    cora, _secret = make_staff_with_totp(email="cora@example.org", legal_name="Cora Admin")
    cora.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    log_in_browser(staff, cora, second_factor=True)
    staff.goto("/admin/ce/")
    staff.get_by_role("link", name=course.title, exact=True).click()
    staff.get_by_role("link", name="CE Broker roster (FL 491)").click()
    expect(staff.locator("main")).to_contain_text("Rows to upload (1)")
    row = staff.get_by_role("row").filter(has_text=LICENSE)
    expect(row).to_contain_text(HOME_STUDY_COURSE_NUMBER.removeprefix("20-"))
    with staff.expect_download() as download_info:
        staff.get_by_role("button", name="Download the .xls for CE Broker").click()
    saved = tmp_path / "roster.xls"
    download_info.value.save_as(saved)
    context.close()
    sheet = xlrd.open_workbook(str(saved)).sheet_by_index(0)
    return [sheet.row_values(r) for r in range(sheet.nrows)]


@pytest.mark.parametrize("width", [1280, 390])
def test_buy_watch_post_test_evaluate_certificate_and_roster(
    page,
    browser,
    live_server,
    fake_stripe,
    real_mp4,  # noqa: F811 - the fixture imported above
    width,
    tmp_path,
):
    page.set_viewport_size({"width": width, "height": 900})
    page.problems.allowed_host.add(urlsplit(fake_stripe.base_url).hostname)
    course = home_study_course(
        seconds=SECONDS,
        video=real_mp4,
        questions=[
            (text, [(c, True) for c in right] + [(c, False) for c in wrong])
            for text, (right, wrong) in QUESTIONS.items()
        ],
    )
    log_in_browser(page, make_member("hope@example.org", NAME))

    buy_by_card(page, course)
    watch_to_the_end(page)
    fail_then_pass_the_post_test(page)
    text = evaluate_and_download(page, tmp_path)

    today = timezone.localtime(timezone.now(), course.zone).date()
    assert NAME in text and course.title in text
    assert "Home study (recorded program)" in text
    assert HOME_STUDY_STATEMENT in text
    assert f"Course {HOME_STUDY_COURSE_NUMBER}" in text and LIVE_COURSE_NUMBER not in text
    assert "1.50 hours" in text
    assert f"Date of completion: {today:%-d %B %Y}" in text
    assert f"FL #{LICENSE}" in text

    rows = export_roster(browser, live_server, course, width, tmp_path)
    assert [(row[1], row[4]) for row in rows] == [
        (HOME_STUDY_COURSE_NUMBER.removeprefix("20-"), LICENSE)
    ]
