"""A candidate uploads a video through Uppy, a reviewer scores and approves it, and the
candidate sees the credential: in Chromium, under the site's CSP, with no outside host."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from certification.trainers import services
from certification.trainers.models import Question, VideoSubmission
from tests.accounts_support import acting_with_second_factor, log_in_with_second_factor
from tests.browser.conftest import assert_accessible
from tests.trainers_support.builders import build_track, lead, make_video, person

pytestmark = pytest.mark.browser


def sign_in(page, user, *, second_factor=False):
    """Give the browser a session for `user` (login itself is tested elsewhere).

    `second_factor=True` for staff: the session is one that entered the authenticator code.
    """
    client = Client()
    if second_factor:
        log_in_with_second_factor(client, user)
    else:
        client.force_login(user)
    page.context.clear_cookies()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": page.evaluate("location.origin")
                if page.url.startswith("http")
                else page.context.base_url,
            }
        ]
    )


def test_upload_review_approve_and_credential(page, live_server, tmp_path):
    track = build_track()
    candidate = person("casey@example.org", "Casey Candidate")
    EmailAddress.objects.create(user=candidate, email=candidate.email, primary=True, verified=True)
    boss = lead()
    video = make_video(tmp_path / "my demo.mp4", seconds=2)

    page.context.base_url = live_server.url
    page.goto(live_server.url + "/certification/directory/")
    sign_in(page, candidate)
    page.goto("/certification/")
    expect(page.get_by_role("heading", name="Certified Trainer")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Enrol in Certified Trainer").click()
    expect(page.locator("main")).to_contain_text("You are enrolled in Certified Trainer.")
    expect(page.locator("main")).to_contain_text("Register for and attend a Training of Trainers")
    page.get_by_role("link", name="Upload your video").click()

    assert_accessible(page)
    page.get_by_role("button", name="Continue to upload").click()
    expect(page.locator(".field__error")).to_contain_text("Please confirm consent")
    page.get_by_label(re.compile("Everyone recognisable in this video agreed")).check()
    page.get_by_role("button", name="Continue to upload").click()

    expect(page.get_by_role("heading", name=re.compile("Upload your video"))).to_be_visible()
    expect(page.locator(".uppy-Dashboard")).to_be_visible()
    assert page.locator("a.uppy-Dashboard-poweredBy").count() == 0
    assert_accessible(page)
    page.locator("input.uppy-Dashboard-input").first.set_input_files(str(video))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    expect(page.locator("#upload-status")).to_have_text(
        "Upload complete. We are now checking and preparing your video.", timeout=60_000
    )
    expect(page.locator(".uppy-StatusBar")).to_be_hidden()
    page.get_by_role("link", name="See your video's status").click()
    expect(page.locator("main")).to_contain_text("Ready for review")
    expect(page.locator("main")).to_contain_text("“my demo.mp4”")
    submission = VideoSubmission.objects.get()
    assert submission.status == VideoSubmission.Status.READY

    # The lead reviews it (assigned to themself), comments at a time, scores, approves.
    services.assign_reviewer(submission, boss, actor=acting_with_second_factor(boss))
    sign_in(page, boss, second_factor=True)
    page.goto(f"/certification/reviews/{submission.public_id}/")
    player = page.locator("#review-player")
    expect(player).to_be_visible()
    page.wait_for_function("document.getElementById('review-player').readyState >= 1")
    page.get_by_label("Time in the video (m:ss)").fill("0:01")
    page.get_by_label("Comment", exact=True).fill("Clear explanation of the ORS.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".review-comments")).to_contain_text("Clear explanation of the ORS.")
    page.get_by_role("button", name="Play from 0:01").click()
    page.wait_for_function("document.getElementById('review-player').currentTime >= 1")

    for fieldset in page.locator(".rubric-form fieldset").all()[:-1]:
        fieldset.get_by_label(re.compile("Exemplary")).check()
    page.get_by_label("Approve", exact=True).check()
    page.get_by_role("button", name="Submit my review").click()
    expect(page.locator("main")).to_contain_text("Review saved: 9 points, meets the rubric.")
    assert_accessible(page)
    page.get_by_label("Approved", exact=True).check()
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator("main")).to_contain_text("Decision saved")

    # The other requirements, met the way staff and the candidate would, then the lead issues.
    enrolment = submission.enrolment
    services.sign_off_requirement(
        enrolment, track.requirements.get(kind="attendance"), actor=boss, note="ToT 2025"
    )
    attempt = services.start_attempt(
        enrolment, track.requirements.get(kind="assessment"), actor=candidate
    )
    services.submit_attempt(
        attempt,
        actor=candidate,
        answers={
            str(q): [str(c.pk) for c in Question.objects.get(pk=q).choices.filter(is_correct=True)]
            for q in attempt.question_order
        },
    )
    evidence = services.submit_evidence(
        enrolment,
        track.requirements.get(kind="evidence"),
        actor=candidate,
        statement="Led the FIT roll-out in a community agency: training, supervision, data review.",
    )
    services.review_evidence(evidence, actor=boss, accept=True)
    page.goto(f"/certification/staff/enrolments/{enrolment.public_id}/")
    page.get_by_role("button", name="Confirm and issue the credential").click()
    expect(page.locator("main")).to_contain_text("Saved.")

    sign_in(page, candidate)
    page.goto("/certification/")
    expect(page.locator("main")).to_contain_text("FIT Certified Trainer")
    expect(page.get_by_role("link", name="Download your certificate (PDF)")).to_be_visible()
    page.goto(f"/certification/videos/{submission.public_id}/")
    expect(page.locator("main")).to_contain_text("Clear explanation of the ORS.")
    expect(page.locator("main")).to_contain_text("Exemplary (3)")
    assert_accessible(page)
    page.goto("/certification/directory/")
    assert_accessible(page)
