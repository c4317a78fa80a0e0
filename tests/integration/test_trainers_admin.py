"""Staff screens: the review queue with its filters, candidates, track setup, and denials."""

from datetime import timedelta

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Permission
from django.utils import timezone

from certification.trainers import services
from certification.trainers.models import Track, VideoSubmission
from tests.accounts_support import acting_with_second_factor, log_in_with_second_factor
from tests.trainers_support.builders import (
    build_track,
    lead,
    person,
    reviewer,
    start_submission,
)

pytestmark = pytest.mark.django_db


def admin_user(user):
    """Staff with admin access and an authenticator, as cms.middleware requires."""
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    TOTP.activate(user, pyotp.random_base32())
    return user


def ready(track, email, name):
    submission = start_submission(track, person(email, name))
    VideoSubmission.objects.filter(pk=submission.pk).update(status=VideoSubmission.Status.READY)
    submission.refresh_from_db()
    return submission


def test_lead_filters_the_queue_by_unassigned_and_overdue(client):
    track = build_track()
    boss = acting_with_second_factor(admin_user(lead()))
    waiting = ready(track, "una@example.org", "Una Unassigned")
    late = ready(track, "olly@example.org", "Olly Overdue")
    services.assign_reviewer(
        late, reviewer("rev@example.org"), actor=boss, due_at=timezone.now() - timedelta(days=1)
    )
    log_in_with_second_factor(client, boss)

    page = client.get("/admin/certification/queue/").content.decode()
    assert "Una Unassigned" in page and "Olly Overdue" in page
    page = client.get("/admin/certification/queue/?filter=unassigned").content.decode()
    assert "Una Unassigned" in page and "Olly Overdue" not in page
    page = client.get("/admin/certification/queue/?filter=overdue").content.decode()
    assert "Olly Overdue" in page and "Una Unassigned" not in page
    assert (
        f"/certification/reviews/{waiting.public_id}/"
        in client.get("/admin/certification/queue/").content.decode()
    )

    candidates = client.get("/admin/certification/candidates/?q=olly").content.decode()
    assert "Olly Overdue" in candidates and "Una Unassigned" not in candidates
    detail = client.get(f"/admin/certification/candidates/{late.enrolment.pk}/").content.decode()
    assert "In review" in detail and "(overdue)" in detail


def test_reviewer_sees_only_assigned_videos_and_no_setup(client):
    track = build_track()
    boss = acting_with_second_factor(lead())
    mine = ready(track, "mine@example.org", "Mia Mine")
    ready(track, "theirs@example.org", "Theo Theirs")
    rev = admin_user(reviewer("rev@example.org"))
    services.assign_reviewer(mine, rev, actor=boss)
    log_in_with_second_factor(client, rev)
    page = client.get("/admin/certification/queue/").content.decode()
    assert "Mia Mine" in page and "Theo Theirs" not in page
    assert client.get("/admin/certification/candidates/").status_code in (302, 403)
    assert client.get(f"/admin/certification/candidates/{mine.enrolment.pk}/").status_code in (
        302,
        403,
    )
    assert client.get("/admin/certification/setup/tracks/").status_code in (302, 403)


def test_other_staff_and_candidates_are_refused(client):
    build_track()
    editor = admin_user(person("editor@example.org"))
    log_in_with_second_factor(client, editor)
    assert client.get("/admin/certification/queue/").status_code in (302, 403)
    client.force_login(person("cand@example.org"))
    response = client.get("/admin/certification/queue/")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_lead_sets_up_a_track_in_the_admin(client):
    boss = admin_user(lead())
    log_in_with_second_factor(client, boss)
    index = client.get("/admin/certification/setup/tracks/")
    assert index.status_code == 200
    form = client.get("/admin/certification/setup/tracks/new/").content.decode()
    assert "Requirements" in form
    response = client.post(
        "/admin/certification/setup/tracks/new/",
        {
            "name": "FIT Supervisor",
            "slug": "fit-supervisor",
            "description": "",
            "credential_title": "Recognised FIT Supervisor",
            "is_open": "on",
            "max_upload_bytes": str(4 * 1024**3),
            "max_duration_seconds": "2700",
            "review_days": "21",
            "video_retention_days": "90",
            "credential_valid_months": "",
            "requirements-TOTAL_FORMS": "1",
            "requirements-INITIAL_FORMS": "0",
            "requirements-MIN_NUM_FORMS": "0",
            "requirements-MAX_NUM_FORMS": "1000",
            "requirements-0-kind": "evidence",
            "requirements-0-title": "Supervision log",
            "requirements-0-description": "",
            "requirements-0-programme": "",
            "requirements-0-question_bank": "",
            "requirements-0-due_days": "",
            "requirements-0-ORDER": "1",
            "requirements-0-id": "",
            "requirements-0-DELETE": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    track = Track.objects.get(slug="fit-supervisor")
    assert [r.title for r in track.requirements.all()] == ["Supervision log"]


def test_lead_enrols_a_person_even_when_the_track_is_closed(client):
    track = build_track()
    track.is_open = False
    track.save()
    casey = person("casey@example.org", "Casey Candidate")
    with pytest.raises(services.CertificationError, match="closed"):
        services.enrol(track, casey, actor=casey)
    boss = admin_user(lead())
    log_in_with_second_factor(client, boss)
    page = client.post(
        "/admin/certification/candidates/",
        {"email": "CASEY@example.org", "track": track.pk},
        follow=True,
    ).content.decode()
    assert "Casey Candidate is enrolled in Certified Trainer." in page
    assert casey.trainer_enrolments.get().enrolled_by == boss
    page = client.post(
        "/admin/certification/candidates/",
        {"email": "nobody@example.org", "track": track.pk},
        follow=True,
    ).content.decode()
    assert "give the email of a person who has an account" in page
