"""Assessment, evidence, sign-off, the credential PDF, verification and the public directory."""

import subprocess

import pytest
from django.core import mail
from django.core.files.storage import storages

from certification.trainers import services
from certification.trainers.models import AssessmentAttempt, Credential, Question
from tests.accounts_support import acting_with_second_factor, log_in_with_second_factor
from tests.trainers_support.builders import build_track, lead, person

pytestmark = pytest.mark.django_db


def _answer_form(attempt, *, correct):
    data = {}
    for question in Question.objects.filter(pk__in=attempt.question_order):
        choices = question.choices.filter(is_correct=correct) or question.choices.all()[:1]
        data[f"q{question.pk}"] = [str(c.pk) for c in choices]
    return data


def test_choice_assessment_pass_mark_and_attempt_limit(client):
    track = build_track()
    candidate = person("cand@example.org")
    enrolment = services.enrol(track, candidate, actor=candidate)
    requirement = track.requirements.get(kind="assessment")
    url = f"/certification/enrolments/{enrolment.public_id}/assessment/{requirement.pk}/"
    client.force_login(candidate)

    page = client.get(url).content.decode()
    assert "Attempt 1 of 2" in page and "Which are FIT measures? (select all that apply)" in page
    empty = client.post(url, {}).content.decode()
    assert "Answer every question (2 left unanswered)." in empty

    attempt = AssessmentAttempt.objects.get()
    page = client.post(url, _answer_form(attempt, correct=False), follow=True).content.decode()
    assert "You scored 0%; the pass mark is 50%." in page

    client.get(url)
    second = AssessmentAttempt.objects.get(number=2)
    page = client.post(url, _answer_form(second, correct=True), follow=True).content.decode()
    assert "You passed with 100%." in page
    assert "✓ Passed" in page

    again = client.get(url, follow=True).content.decode()
    assert "You have already passed this assessment." in again


def test_attempt_limit_is_enforced():
    track = build_track()
    candidate = person("cand@example.org")
    enrolment = services.enrol(track, candidate, actor=candidate)
    requirement = track.requirements.get(kind="assessment")
    for _ in range(2):
        attempt = services.start_attempt(enrolment, requirement, actor=candidate)
        wrong = {
            str(q): [str(Question.objects.get(pk=q).choices.order_by("is_correct").first().pk)]
            for q in attempt.question_order
        }
        attempt = services.submit_attempt(attempt, actor=candidate, answers=wrong)
        assert attempt.status == AssessmentAttempt.Status.FAILED
    with pytest.raises(services.CertificationError, match="used all 2 attempts"):
        services.start_attempt(enrolment, requirement, actor=candidate)


def test_question_order_is_randomised_per_attempt():
    track = build_track()
    bank = track.requirements.get(kind="assessment").question_bank
    for number in range(8):
        question = Question.objects.create(bank=bank, text=f"Extra question {number}")
        question.choices.create(text="Yes", is_correct=True)
    orders = set()
    for index in range(6):
        candidate = person(f"c{index}@example.org")
        enrolment = services.enrol(track, candidate, actor=candidate)
        attempt = services.start_attempt(
            enrolment, track.requirements.get(kind="assessment"), actor=candidate
        )
        orders.add(tuple(attempt.question_order))
    assert len(orders) > 1


def test_written_answers_are_graded_by_staff(client):
    track = build_track(written=True)
    candidate = person("cand@example.org")
    boss = acting_with_second_factor(lead())
    enrolment = services.enrol(track, candidate, actor=candidate)
    requirement = track.requirements.get(kind="assessment")
    client.force_login(candidate)
    url = f"/certification/enrolments/{enrolment.public_id}/assessment/{requirement.pk}/"
    client.get(url)
    attempt = AssessmentAttempt.objects.get()
    page = client.post(
        url, {f"q{attempt.question_order[0]}": "The ORS tracks outcome each session."}, follow=True
    ).content.decode()
    assert "Your answers were sent for grading." in page and "Waiting for grading" in page

    log_in_with_second_factor(client, boss)
    staff_url = f"/certification/staff/enrolments/{enrolment.public_id}/"
    page = client.get(staff_url).content.decode()
    assert "The ORS tracks outcome each session." in page
    client.post(
        staff_url, {"action": "grade", "attempt": attempt.pk, "score": "80", "feedback": "Good."}
    )
    attempt.refresh_from_db()
    assert attempt.status == AssessmentAttempt.Status.PASSED


def test_staff_pages_are_closed_to_candidates_and_reviewers(client):
    from tests.trainers_support.builders import reviewer

    track = build_track()
    candidate = person("cand@example.org")
    enrolment = services.enrol(track, candidate, actor=candidate)
    staff_url = f"/certification/staff/enrolments/{enrolment.public_id}/"
    client.force_login(candidate)
    assert client.get(staff_url).status_code == 403
    client.post(staff_url, {"action": "issue"})
    log_in_with_second_factor(client, reviewer("rev@example.org"))
    assert client.get(staff_url).status_code == 403
    client.post(staff_url, {"action": "issue"})
    assert not Credential.objects.exists()


def _meet_everything(track, candidate, boss):
    """Attendance signed off, video approved, assessment passed, evidence accepted."""
    from certification.trainers.models import VideoSubmission

    enrolment = services.enrol(track, candidate, actor=candidate)
    services.sign_off_requirement(
        enrolment,
        track.requirements.get(kind="attendance"),
        actor=boss,
        note="Attended Training of Trainers, Chicago 2025 (paper sign-in sheet).",
    )
    video = services.start_video_submission(
        enrolment, track.requirements.get(kind="video"), actor=candidate, consent=True
    )
    VideoSubmission.objects.filter(pk=video.pk).update(status=VideoSubmission.Status.READY)
    services.decide(video, actor=boss, outcome="approve")
    requirement = track.requirements.get(kind="assessment")
    attempt = services.start_attempt(enrolment, requirement, actor=candidate)
    answers = {
        str(q): [str(c.pk) for c in Question.objects.get(pk=q).choices.filter(is_correct=True)]
        for q in attempt.question_order
    }
    services.submit_attempt(attempt, actor=candidate, answers=answers)
    evidence = services.submit_evidence(
        enrolment,
        track.requirements.get(kind="evidence"),
        actor=candidate,
        statement="I led the agency's implementation of FIT across three clinics for a year.",
    )
    return enrolment, evidence


def test_credential_issued_when_all_requirements_met_and_lead_confirms(
    client, tmp_path, django_capture_on_commit_callbacks
):
    track = build_track()
    candidate = person("cand@example.org", "Zoë Ångström-李")
    boss = acting_with_second_factor(lead())
    enrolment, evidence = _meet_everything(track, candidate, boss)

    log_in_with_second_factor(client, boss)
    staff_url = f"/certification/staff/enrolments/{enrolment.public_id}/"
    page = client.post(staff_url, {"action": "issue"}, follow=True).content.decode()
    assert "Not every requirement of this track is met yet." in page
    client.post(staff_url, {"action": "evidence", "evidence": evidence.pk, "accept": "yes"})
    page = client.get(staff_url).content.decode()
    assert "Confirm and issue the credential" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(staff_url, {"action": "issue"})

    credential = Credential.objects.get()
    assert credential.holder_name == "Zoë Ångström-李"
    assert credential.expires_at is not None
    assert "Your credential: FIT Certified Trainer" in mail.outbox[-1].subject

    client.force_login(candidate)
    dashboard = client.get("/certification/").content.decode()
    assert "FIT Certified Trainer" in dashboard and credential.number in dashboard
    pdf = client.get(f"/certification/credentials/{credential.number}.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    path = tmp_path / "credential.pdf"
    path.write_bytes(b"".join(pdf.streaming_content))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert (
        "Zoë Ångström-李" in text and "FIT Certified Trainer" in text and credential.number in text
    )
    assert storages["private"].exists(credential.pdf_name)

    client.logout()
    verify = client.get(f"/certification/verify/{credential.verification_code}/").content.decode()
    assert "Valid." in verify and "Zoë Ångström-李" in verify
    other = person("nosy@example.org")
    client.force_login(other)
    assert client.get(f"/certification/credentials/{credential.number}.pdf").status_code == 404


def test_renewal_supersedes_and_expired_shows_on_verification(client, time_machine):
    from datetime import timedelta

    from django.utils import timezone

    track = build_track()
    candidate = person("cand@example.org", "Casey Candidate")
    boss = acting_with_second_factor(lead())
    enrolment, evidence = _meet_everything(track, candidate, boss)
    services.review_evidence(evidence, actor=boss, accept=True)
    first = services.issue_credential(enrolment, actor=boss)
    renewed = services.renew_credential(first, actor=boss)
    first.refresh_from_db()
    assert first.status == Credential.Status.SUPERSEDED and renewed.renews == first
    assert (
        "Renewed."
        in client.get(f"/certification/verify/{first.verification_code}/").content.decode()
    )
    time_machine.move_to(timezone.now() + timedelta(days=800))
    page = client.get(f"/certification/verify/{renewed.verification_code}/").content.decode()
    assert "Expired" in page


def test_directory_lists_only_opted_in_certified_trainers_and_searches(client):
    track = build_track()
    boss = acting_with_second_factor(lead())
    listed = person("listed@example.org", "Maria Listed")
    hidden = person("hidden@example.org", "Harry Hidden")
    for trainer in (listed, hidden):
        enrolment, evidence = _meet_everything(track, trainer, boss)
        services.review_evidence(evidence, actor=boss, accept=True)
        services.issue_credential(enrolment, actor=boss)

    client.force_login(listed)
    client.post(
        "/certification/directory/my-entry/",
        {"listed": "on", "display_name": "Dr Maria Listed", "place": "Oslo, Norway"},
    )
    client.logout()
    page = client.get("/certification/directory/").content.decode()
    assert "Dr Maria Listed" in page and "Oslo, Norway" in page and "Harry Hidden" not in page
    assert "Dr Maria Listed" in client.get("/certification/directory/?q=oslo").content.decode()
    assert (
        "No certified trainer matches"
        in client.get("/certification/directory/?q=Chicago").content.decode()
    )

    uncertified = person("new@example.org")
    client.force_login(uncertified)
    page = client.post(
        "/certification/directory/my-entry/", {"listed": "on", "display_name": "Me"}
    ).content.decode()
    assert "The directory lists certified trainers only." in page


def test_attendance_requirement_reads_session_attendance_from_courses(client):
    from django.utils import timezone

    from courses.factories import make_event
    from courses.models import Booking, Registration, SessionAttendance

    track = build_track()
    programme = track.requirements.get(kind="attendance").programme
    candidate = person("cand@example.org", "Casey Candidate")
    enrolment = services.enrol(track, candidate, actor=candidate)
    client.force_login(candidate)
    page = client.get("/certification/").content.decode()
    assert "Register for and attend a Training of Trainers event." in page

    event = make_event(title="Training of Trainers 2026", programme=programme)
    booking = Booking.objects.create(event=event, purchaser=candidate, status="confirmed")
    registration = Registration.objects.create(
        booking=booking,
        event=event,
        ticket_type=event.ticket_types.first(),
        attendee=candidate,
        attendee_name="Casey Candidate",
        attendee_email=candidate.email,
        status="confirmed",
        unit_price=0,
    )
    attendance = SessionAttendance.objects.create(
        registration=registration,
        session=event.sessions.first(),
        checked_in_at=timezone.now(),
        voided_at=timezone.now(),
    )
    states = {s.requirement.kind: s for s in services.requirement_states(enrolment)}
    assert states["attendance"].met is False  # a voided check-in does not count
    SessionAttendance.objects.filter(pk=attendance.pk).update(voided_at=None)
    states = {s.requirement.kind: s for s in services.requirement_states(enrolment)}
    assert states["attendance"].met is True
    assert "✓ Attended" in client.get("/certification/").content.decode()


def test_revoked_credential_shows_on_verification_and_leaves_the_directory(client):
    track = build_track()
    candidate = person("cand@example.org", "Casey Candidate")
    boss = acting_with_second_factor(lead())
    enrolment, evidence = _meet_everything(track, candidate, boss)
    services.review_evidence(evidence, actor=boss, accept=True)
    credential = services.issue_credential(enrolment, actor=boss)
    services.update_listing(candidate, listed=True, display_name="Casey C", place="Leeds")
    assert "Casey C" in client.get("/certification/directory/").content.decode()

    log_in_with_second_factor(client, boss)
    staff_url = f"/certification/staff/enrolments/{enrolment.public_id}/"
    page = client.post(
        staff_url, {"action": "revoke", "credential": credential.pk}, follow=True
    ).content.decode()
    assert "Give the reason for revoking." in page
    client.post(
        staff_url, {"action": "revoke", "credential": credential.pk, "reason": "Data misused."}
    )
    credential.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED
    client.logout()
    assert (
        "Revoked."
        in client.get(f"/certification/verify/{credential.verification_code}/").content.decode()
    )
    assert "Casey C" not in client.get("/certification/directory/").content.decode()
