"""Issue 15, items 13 and 18 in Chromium at desktop and phone widths: the trainer candidate's
dashboard and video page, the upload's finished state, the lead's review page, and the public
verify pages and trainer directory."""

import io
import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect
from wagtail.models import Site

from certification import services as ce_services
from certification.factories import (
    make_body,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.factories import make_event as make_ce_event
from certification.models import EvaluationResponse
from certification.trainers import demo as trainers_demo
from certification.trainers import services
from certification.trainers.models import AssessmentAttempt, VideoSubmission
from cms.models import SiteSettings
from courses import attendance
from courses.factories import make_event
from courses.models import Booking, Registration
from tests.accounts_support import acting_with_second_factor, log_in_browser
from tests.browser.conftest import assert_accessible
from tests.trainers_support.builders import (
    build_track,
    lead,
    levels,
    make_video,
    person,
    reviewer,
    start_submission,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
VS = VideoSubmission.Status


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def assert_within_the_window(page, locator):
    """The element's right edge is on screen (not cut off behind a scroll box)."""
    box = locator.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def candidate_user():
    user = person("casey@example.org", "Casey Candidate")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    return user


def register(candidate, event):
    booking = Booking.objects.create(event=event, purchaser=candidate, status="confirmed")
    Registration.objects.create(
        booking=booking,
        event=event,
        ticket_type=event.ticket_types.first(),
        attendee=candidate,
        attendee_name=candidate.legal_name,
        attendee_email=candidate.email,
        status="confirmed",
        unit_price=0,
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_dashboard_and_video_page_say_what_to_do_next(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    track = build_track()  # two assessment attempts
    candidate = candidate_user()
    site_settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    site_settings.contact_email = "training@example.org"
    site_settings.save()
    submission = start_submission(track, candidate)
    VideoSubmission.objects.filter(pk=submission.pk).update(status=VS.RESUBMISSION_REQUESTED)
    enrolment = submission.enrolment
    requirement = track.requirements.get(kind="assessment")
    for _ in range(2):
        attempt = services.start_attempt(enrolment, requirement, actor=candidate)
        AssessmentAttempt.objects.filter(pk=attempt.pk).update(
            status=AssessmentAttempt.Status.FAILED, score_percent=0
        )
    event = make_event(
        title="Training of Trainers 2027",
        programme=track.requirements.get(kind="attendance").programme,
        starts_in=timedelta(days=60),
    )
    register(candidate, event)
    day = event.local(event.starts_at).strftime("%-d %B %Y")

    log_in_browser(page, candidate)
    page.goto("/certification/")
    main = page.locator("main")
    expect(main).to_contain_text(f"Registered for {day}; attend to complete.")
    expect(main).not_to_contain_text("Register for and attend")
    expect(main).to_contain_text("You have used all 2 attempts.")
    expect(page.get_by_role("link", name="Take the assessment")).to_have_count(0)
    expect(page.get_by_role("link", name="Write to training@example.org")).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.get_by_role("link", name="Version 1").click()
    expect(main).to_contain_text("Resubmission requested")
    new_version = page.get_by_role("link", name="Upload a new version")
    expect(new_version).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    new_version.click()
    expect(page.get_by_role("button", name="Continue to upload")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_finished_upload_leaves_one_clear_state_and_no_progress_bar(page, width, tmp_path):
    page.set_viewport_size({"width": width, "height": 900})
    track = build_track()
    candidate = candidate_user()
    submission = start_submission(track, candidate)
    video = make_video(tmp_path / "session.mp4", seconds=2)

    log_in_browser(page, candidate)
    page.goto(f"/certification/videos/{submission.public_id}/upload/")
    expect(page.locator(".uppy-Dashboard")).to_be_visible()
    page.locator("input.uppy-Dashboard-input").first.set_input_files(str(video))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    expect(page.locator("#upload-status")).to_have_text(
        "Upload complete. We are now checking and preparing your video.", timeout=60_000
    )
    # One finished state: the message and the way on; no progress bar of any kind is left.
    expect(page.get_by_role("link", name="See your video's status")).to_be_visible()
    expect(page.locator(".uppy-StatusBar")).to_be_hidden()
    assert page.locator("progress").count() == 0
    visible_bars = page.locator("[role=progressbar], .uppy-StatusBar-progress").filter(visible=True)
    expect(visible_bars).to_have_count(0)
    assert_no_sideways_scroll(page)
    assert_accessible(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_lead_sees_every_reviewer_and_the_agreement_and_legal_names(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    track = build_track()
    candidate = candidate_user()
    submission = start_submission(track, candidate)
    VideoSubmission.objects.filter(pk=submission.pk).update(status=VS.READY)
    boss = lead()
    first = reviewer("rhiannon@example.org", "Rhiannon Featherstonehaugh-Whittington")
    second = reviewer("bartholomew@example.org", "Bartholomew Montgomery-Worthington")
    second.preferred_name = "Bart"
    second.save()
    robin = reviewer("robin@example.org", "Roberta Quinn")
    robin.preferred_name = "Robin"
    robin.save()
    acting = acting_with_second_factor(boss)
    for who, label, recommendation in [
        (first, "Exemplary", "approve"),
        (second, "Developing", "resubmit"),
    ]:
        assignment = services.assign_reviewer(submission, who, actor=acting)
        services.submit_review(
            assignment,
            scores=levels(track, label),
            recommendation=recommendation,
            guidance="Show the ORS being scored with the group, step by step, before the SRS.",
        )

    log_in_browser(page, boss, second_factor=True)
    page.goto(f"/certification/reviews/{submission.public_id}/")
    table = page.locator("table.rubric-summary")
    expect(table).to_be_visible()
    expect(table).to_contain_text("Differ by 2")
    expect(table).to_contain_text("Bart")
    assert_no_sideways_scroll(page)
    # The last column (the agreement) and the second reviewer's cells are on screen.
    for cell in [
        table.locator("td", has_text="Differ by 2").first,
        table.locator("td", has_text="Developing (1)").first,
        table.locator("td", has_text="Request resubmission").first,
    ]:
        expect(cell).to_be_visible()
        assert_within_the_window(page, cell)
    wrap = page.locator(".review-layout__rubric .table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth"), "the table scrolls sideways"

    options = page.get_by_label("Assign a reviewer").locator("option").all_inner_texts()
    assert "Robin (Roberta Quinn)" in options
    assert "Bart (Bartholomew Montgomery-Worthington)" in options
    assert_accessible(page)


def issued_ce_certificate():
    make_sponsor()
    event = make_ce_event("Measuring What Matters")
    make_offering(
        event,
        make_body(
            "FL 491",
            name="Florida Board of Clinical Social Work, MFT and Mental Health Counseling",
            provider_number="50-SAMPLE1",
        ),
    )
    user = make_user("ana@example.org", "Ana Souza")
    registration = make_registration(event, name="Ana Souza", user=user)
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return ce_services.issue_certificate(registration, notify=False)


@pytest.mark.parametrize("width", WIDTHS)
def test_verify_pages_and_the_demo_directory(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    certificate = issued_ce_certificate()
    trainers_demo.load_demo_content(io.StringIO())

    page.goto(f"/verify/{certificate.code}/")
    main = page.locator("main")
    expect(main).to_contain_text("Valid.")
    expect(main).to_contain_text(
        "Florida Board of Clinical Social Work, MFT and Mental Health Counseling (FL 491)"
    )
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.goto("/verify/")
    page.get_by_label("Certificate ID").fill("CE-MYTYPO-1234")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Certificate not found")).to_be_visible()
    expect(main).to_contain_text("We have no certificate with the ID you entered.")
    assert "MYTYPO" not in page.content()
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    page.goto("/certification/verify/MYTYPO-credential/")
    expect(page.get_by_role("heading", name="Credential not found")).to_be_visible()
    assert "MYTYPO" not in page.content()
    assert_accessible(page)

    page.get_by_role("link", name="Search the directory of certified trainers").click()
    for name in ["Ana Lucía Pérez", "Søren Ødegård", "Kwame Mensah"]:
        expect(main).to_contain_text(name)
    expect(main).to_contain_text("Bergen, Norway")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    assert re.search(r"Project Certified Trainer", main.inner_text())
