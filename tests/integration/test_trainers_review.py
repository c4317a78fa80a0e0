"""Reviewers score a video side by side, the lead decides, the candidate sees the outcome."""

import pytest
from django.core import mail

from certification.trainers import services
from certification.trainers.models import VideoSubmission
from tests.accounts_support import acting_with_second_factor, log_in_with_second_factor
from tests.trainers_support.builders import (
    build_track,
    lead,
    levels,
    make_video,
    person,
    reviewer,
    start_submission,
    tus_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_video(client, tmp_path, django_capture_on_commit_callbacks):
    track = build_track()
    candidate = person("cand@example.org", "Casey Candidate")
    client.force_login(candidate)
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, make_video(tmp_path / "demo.mp4").read_bytes())
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY
    client.logout()
    return track, candidate, submission


def test_two_reviewers_then_the_lead_decides_and_the_candidate_sees_feedback(
    client, ready_video, django_capture_on_commit_callbacks
):
    track, candidate, submission = ready_video
    boss = acting_with_second_factor(lead())
    ann = reviewer("ann@example.org", "Ann Reviewer")
    ben = reviewer("ben@example.org", "Ben Reviewer")

    log_in_with_second_factor(client, boss)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            f"/certification/reviews/{submission.public_id}/",
            {"action": "assign", "assign-reviewer": ann.pk},
            follow=True,
        )
        services.assign_reviewer(submission, ben, actor=boss)
    assert "Reviewer assigned and emailed." in page.content.decode()
    assigned = [m for m in mail.outbox if m.subject.startswith("A video to review")]
    assert sorted(m.to[0] for m in assigned) == ["ann@example.org", "ben@example.org"]
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.IN_REVIEW

    log_in_with_second_factor(client, ann)
    review_url = f"/certification/reviews/{submission.public_id}/"
    page = client.get(review_url).content.decode()
    assert 'id="review-player"' in page and "Explains feedback clearly (required)" in page
    client.post(
        review_url, {"action": "comment", "comment-at": "0:01", "comment-body": "Clear intro."}
    )
    bad_time = client.post(
        review_url, {"action": "comment", "comment-at": "soon", "comment-body": "x"}
    )
    assert "Write the time as minutes:seconds" in bad_time.content.decode()
    scores = {f"review-criterion_{k}": v for k, v in levels(track, "Exemplary").items()}
    page = client.post(
        review_url, {"action": "review", "review-recommendation": "approve", **scores}, follow=True
    ).content.decode()
    assert "Review saved: 9 points, meets the rubric." in page

    log_in_with_second_factor(client, ben)
    page = client.get(review_url).content.decode()
    assert "Other reviewers' scores appear once you have submitted yours." in page
    assert "Reviewers side by side" not in page and "Exemplary (3)" not in page
    missing = client.post(review_url, {"action": "review", "review-recommendation": "approve"})
    assert "Choose a level for" in missing.content.decode()
    proficient = {f"review-criterion_{k}": v for k, v in levels(track, "Proficient").items()}
    client.post(review_url, {"action": "review", "review-recommendation": "approve", **proficient})
    page = client.get(review_url).content.decode()
    assert "Ann Reviewer" in page and "Differ by 1" in page
    assert "Agree" in page  # both recommend approval

    # The candidate cannot see comments or scores before the decision.
    client.force_login(candidate)
    detail = client.get(f"/certification/videos/{submission.public_id}/").content.decode()
    assert "Clear intro." not in detail and "Exemplary" not in detail

    # A reviewer cannot decide; the lead can.
    log_in_with_second_factor(client, ann)
    client.post(review_url, {"action": "decide", "decision-outcome": "approve"})
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.IN_REVIEW
    log_in_with_second_factor(client, boss)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            review_url, {"action": "decide", "decision-outcome": "approve"}, follow=True
        ).content.decode()
    assert "Decision saved" in page
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.APPROVED
    assert mail.outbox[-1].to == ["cand@example.org"]
    assert "Decision on your video: Approved" in mail.outbox[-1].subject

    client.force_login(candidate)
    detail = client.get(f"/certification/videos/{submission.public_id}/").content.decode()
    assert "Clear intro." in detail and "Exemplary (3)" in detail and "Proficient (2)" in detail
    assert "Ann Reviewer" not in detail  # reviewers stay anonymous to the candidate
    dashboard = client.get("/certification/").content.decode()
    assert "✓ Approved" in dashboard

    from cms import audit

    actions = [r.action for r in audit.history(submission)]
    for action in (
        "trainers.video.created",
        "trainers.upload.created",
        "trainers.video.uploaded",
        "trainers.video.processed",
        "trainers.review.assigned",
        "trainers.review.comment",
        "trainers.review.submitted",
        "trainers.video.decided",
    ):
        assert action in actions, action
    decided = audit.history(submission).get(action="trainers.video.decided")
    assert decided.actor == boss and decided.after == {"status": "approved"}


def test_required_criterion_below_minimum_fails_the_rubric(ready_video):
    track, _candidate, submission = ready_video
    boss = acting_with_second_factor(lead())
    ann = reviewer("ann@example.org")
    assignment = services.assign_reviewer(submission, ann, actor=boss)
    chosen = levels(track, "Exemplary")
    required = track.rubric.criteria.get(required=True)
    chosen[required.pk] = required.levels.get(label="Developing").pk
    review = services.submit_review(assignment, scores=chosen, recommendation="approve")
    assert review.total_points == 7 and review.meets_rubric is False


def test_resubmission_is_a_new_version_linked_to_the_earlier_one(client, ready_video, tmp_path):
    track, candidate, submission = ready_video
    boss = acting_with_second_factor(lead())
    with pytest.raises(services.CertificationError, match="guidance"):
        services.decide(submission, actor=boss, outcome="resubmit")
    services.decide(submission, actor=boss, outcome="resubmit", guidance="Show the SRS too.")

    client.force_login(candidate)
    dashboard = client.get("/certification/").content.decode()
    assert "Read the reviewers&#x27; guidance and upload a new version." in dashboard
    assert "Upload a new version" in dashboard
    enrolment = submission.enrolment
    response = client.post(
        f"/certification/enrolments/{enrolment.public_id}/videos/{submission.requirement_id}/new/",
        {"consent": "on"},
    )
    second = VideoSubmission.objects.get(version=2)
    assert response["Location"].endswith(f"/videos/{second.public_id}/upload/")
    assert second.previous == submission
    detail = client.get(f"/certification/videos/{submission.public_id}/").content.decode()
    assert "Show the SRS too." in detail and "Version 2" in detail


def test_unassigned_reviewer_and_other_candidates_cannot_open_the_review(client, ready_video):
    _track, _candidate, submission = ready_video
    log_in_with_second_factor(client, reviewer("stranger@example.org"))
    assert client.get(f"/certification/reviews/{submission.public_id}/").status_code == 404
    assert client.get(f"/certification/videos/{submission.public_id}/play/").status_code == 404
    client.force_login(person("other@example.org"))
    assert client.get(f"/certification/reviews/{submission.public_id}/").status_code == 403
    assert client.get("/certification/reviews/").status_code == 403


def test_assigned_reviewer_can_play_the_video(client, ready_video):
    _track, _candidate, submission = ready_video
    ann = reviewer("ann@example.org")
    services.assign_reviewer(submission, ann, actor=acting_with_second_factor(lead()))
    log_in_with_second_factor(client, ann)
    response = client.get(
        f"/certification/videos/{submission.public_id}/play/", HTTP_RANGE="bytes=0-9"
    )
    assert response.status_code == 206 and len(b"".join(response.streaming_content)) == 10


def test_videos_are_deleted_after_the_retention_period_but_the_review_stays(
    ready_video, settings, time_machine, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from tests.trainers_support.builders import private_files

    track, _candidate, submission = ready_video
    boss = acting_with_second_factor(lead())
    services.decide(submission, actor=boss, outcome="reject", guidance="Not a FIT session.")
    assert services.purge_expired_videos() == 0
    assert private_files(settings)
    time_machine.move_to(timezone.now() + timedelta(days=track.video_retention_days + 1))
    # The files go once each video's transaction commits (an outbox task).
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_expired_videos() == 1
    submission.refresh_from_db()
    assert private_files(settings) == []
    assert submission.files_deleted_at is not None
    assert submission.decision.guidance == "Not a FIT session."
