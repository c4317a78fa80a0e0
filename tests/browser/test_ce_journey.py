"""An attendee's CE journey in Chromium: register, get checked in at the door from the QR
pass, fill in the evaluation, download the certificate, and open its verification page."""

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from certification.factories import (
    ce_settings,
    make_body,
    make_event,
    make_offering,
    make_sponsor,
    make_user,
)
from certification.models import EvaluationQuestion, QuestionKind
from cms.roles import EVENT_MANAGER
from courses.attendance_views import check_in_pass_url
from courses.models import Registration, RegistrationStatus
from tests.accounts_support import log_in_browser
from tests.browser.conftest import assert_accessible, local_path

pytestmark = pytest.mark.browser

NAME = "王小明"


def pdf_text(path):
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")


@pytest.fixture
def workshop():
    make_sponsor()
    tomorrow = (timezone.now() + timedelta(days=1)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    event = make_event(
        "Feedback-Informed Treatment Workshop",
        sessions=[("Session one: Measures in practice", tomorrow, 60, 60)],
        time_zone="America/Chicago",
    )
    make_offering(event, make_body("APA"), course_number="APA-FIT-1")
    ce_settings(event, auto_issue_on_evaluation=True)
    EvaluationQuestion.objects.create(
        event=event, kind=QuestionKind.RATING, prompt="Overall, how was the workshop?"
    )
    EvaluationQuestion.objects.create(
        event=event, kind=QuestionKind.OBJECTIVE, prompt="Can you score the ORS and SRS?"
    )
    return event


def test_register_check_in_evaluate_download_and_verify(page, browser, workshop, tmp_path):
    attendee = make_user("wang@example.org", NAME)
    log_in_browser(page, attendee)

    # Registration through the event page, asking for CE credit: one free seat for oneself
    # is one step (issue 15, item 8), the license asked for beside the CE box.
    page.goto(workshop.url)
    page.get_by_label("I want continuing-education (CE) credit").check()
    page.get_by_label("License issued by").select_option("FL")
    page.get_by_label("License number").fill("PY1234")
    page.get_by_role("button", name="Register (free)").click()
    expect(page.get_by_role("heading", name="Registration confirmed")).to_be_visible()
    registration = Registration.objects.get(attendee=attendee)
    assert registration.status == RegistrationStatus.CONFIRMED and registration.wants_ce

    session = workshop.sessions.get()
    # The door opens five minutes before the session; time moves on from there.
    with time_machine.travel(session.start - timedelta(minutes=5), tick=True):
        page.goto(f"/attendance/pass/{registration.public_id}/")
        qr = page.get_by_role("img", name=f"QR code for checking in {NAME}")
        expect(qr).to_be_visible()
        assert_accessible(page)

        # Staff scan the pass with a phone: the QR code holds this URL.
        staff_context = browser.new_context(
            base_url=page.url.split("/attendance/")[0], viewport={"width": 390, "height": 844}
        )
        staff_page = staff_context.new_page()
        door = make_user("door@example.org", "Door Staff")
        door.groups.add(Group.objects.get(name=EVENT_MANAGER))
        log_in_browser(staff_page, door, second_factor=True)
        staff_page.goto(check_in_pass_url(registration))
        expect(staff_page.get_by_role("heading", level=1)).to_have_text(NAME)
        assert_accessible(staff_page)
        staff_page.get_by_role("button", name="Check in", exact=True).click()
        expect(staff_page.locator("main")).to_contain_text(f"{NAME} checked in to Session one")
        staff_context.close()

    # After the session the evaluation is open; submitting it issues the certificate.
    with time_machine.travel(session.end + timedelta(minutes=10), tick=True):
        page.goto("/ce/")
        expect(page.locator("main")).to_contain_text("Missing evaluation")
        page.get_by_role("link", name="Complete the evaluation").click()
        assert_accessible(page)
        page.get_by_role("group", name=re.compile("Overall, how was the workshop")).get_by_label(
            "5"
        ).check()
        page.get_by_role("group", name=re.compile("Can you score the ORS")).get_by_label(
            "Yes"
        ).check()
        page.get_by_role("button", name="Submit evaluation").click()
        expect(page.locator("main")).to_contain_text("Your certificate is ready")
        expect(page.locator("main")).to_contain_text(NAME)
        assert_accessible(page)

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download PDF").click()
        download = download_info.value
        assert download.suggested_filename.endswith(".pdf")
        assert NAME in download.suggested_filename
        saved = Path(tmp_path) / "certificate.pdf"
        download.save_as(saved)

    text = pdf_text(saved)
    flat = " ".join(text.split())
    assert NAME in flat and "Feedback-Informed Treatment Workshop" in flat
    assert "FL #PY1234" in flat and "1.00 hours" in flat
    (verify_url,) = re.findall(r"https?://\S+/verify/CE-[0-9A-Z-]+/", flat)

    page.goto(local_path(verify_url))
    expect(page.locator("main")).to_contain_text("Valid.")
    expect(page.locator("main")).to_contain_text(NAME)
    expect(page.locator("main")).to_contain_text(
        re.compile(r"1\.00 hours( \([^)]*\))? – American Psychological Association \(APA\)")
    )
    expect(page.locator("main")).not_to_contain_text("PY1234")
    assert_accessible(page)
