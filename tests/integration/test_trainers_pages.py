"""What trainer-certification pages say: the dashboard's next qualifying event, the upload
limit in minutes, the review page before any review, the admin screens' tab titles and the
assessment's "select all" hint."""

import html as html_lib
import re

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Permission

from certification.trainers import services
from certification.trainers.models import Choice, Question, Requirement, VideoSubmission
from courses.factories import make_event
from courses.models import Programme
from tests.accounts_support import acting_with_second_factor, log_in_with_second_factor
from tests.trainers_support.builders import (
    build_track,
    lead,
    person,
    reviewer,
    start_submission,
    video_requirement,
)

pytestmark = pytest.mark.django_db


def _text(response):
    page = response.content.decode()
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _ready_submission(track):
    submission = start_submission(track, person("cand@example.org", "Casey Candidate"))
    VideoSubmission.objects.filter(pk=submission.pk).update(status=VideoSubmission.Status.READY)
    submission.refresh_from_db()
    return submission


def test_dashboard_points_to_the_next_event_that_meets_the_attendance_requirement(client):
    track = build_track()
    programme = Programme.objects.get(slug="training-of-trainers")
    event = make_event(title="Training of Trainers Conference", programme=programme)
    make_event(title="FIT Supervision Training")
    candidate = person("cand@example.org", "Casey Candidate")
    services.enrol(track, candidate, actor=candidate)
    client.force_login(candidate)

    response = client.get("/certification/")

    assert "See Training of Trainers Conference" in _text(response)
    assert f'href="{event.url}"' in response.content.decode()
    assert "See FIT Supervision Training" not in _text(response)


def test_upload_start_page_gives_the_duration_limit_in_minutes(client):
    track = build_track(max_duration_seconds=2700)
    candidate = person("cand@example.org", "Casey Candidate")
    enrolment = services.enrol(track, candidate, actor=candidate)
    client.force_login(candidate)

    page = _text(
        client.get(
            f"/certification/enrolments/{enrolment.public_id}/videos/"
            f"{video_requirement(track).pk}/new/"
        )
    )

    assert "Longest video: 45 minutes." in page
    assert "2700 seconds" not in page
    assert "Back to your dashboard" in page


def test_review_page_before_any_review_shows_no_empty_scores_and_counts_points_right(client):
    track = build_track()
    submission = _ready_submission(track)
    boss = acting_with_second_factor(lead())
    ann = reviewer("ann@example.org", "Ann Reviewer")
    services.assign_reviewer(submission, ann, actor=boss)

    log_in_with_second_factor(client, boss)
    lead_page = client.get(f"/certification/reviews/{submission.public_id}/").content.decode()
    assert "Reviewers side by side" not in lead_page
    assert "<p>No comments yet.</p>" in lead_page
    assert "<li>No comments yet.</li>" not in lead_page

    log_in_with_second_factor(client, ann)
    page = _text(client.get(f"/certification/reviews/{submission.public_id}/"))
    assert "Developing – 1 point " in page
    assert "Proficient – 2 points" in page
    assert "1 points" not in page


def test_trainer_admin_screens_have_a_browser_tab_title(client):
    build_track()
    boss = lead()
    boss.is_staff = True
    boss.save()
    boss.user_permissions.add(Permission.objects.get(codename="access_admin"))
    TOTP.activate(boss, pyotp.random_base32())
    log_in_with_second_factor(client, boss)

    queue = client.get("/admin/certification/queue/").content.decode()
    assert "<title>Review queue - Wagtail</title>" in queue
    # The column of "Open review" links is named for screen readers.
    assert '<th scope="col"><span class="w-sr-only">Review</span></th>' in queue
    assert (
        "<title>Certification candidates - Wagtail</title>"
        in client.get("/admin/certification/candidates/").content.decode()
    )


def test_a_question_that_already_says_select_all_does_not_say_it_twice(client):
    track = build_track()
    assessment = Requirement.objects.get(track=track, kind="assessment")
    worded = Question.objects.create(
        bank=assessment.question_bank,
        kind=Question.Kind.MULTIPLE,
        text="Which help an agency? Select all that apply.",
    )
    Choice.objects.create(question=worded, text="Supportive leadership", is_correct=True)
    candidate = person("cand@example.org", "Casey Candidate")
    enrolment = services.enrol(track, candidate, actor=candidate)
    client.force_login(candidate)

    page = _text(
        client.get(f"/certification/enrolments/{enrolment.public_id}/assessment/{assessment.pk}/")
    )

    assert "Which help an agency? Select all that apply." in page
    assert "Select all that apply. (select all that apply)" not in page
    assert "Which are FIT measures? (select all that apply)" in page
