"""Issue 15, items 13 and 18: the trainer certification pages and the public verify pages as
their people meet them (page text and database rows)."""

import io
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
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
from certification.trainers.demo_directory import DEMO_TRAINERS
from certification.trainers.models import (
    AssessmentAttempt,
    Credential,
    DirectoryListing,
    Enrolment,
    VideoSubmission,
)
from cms.models import SiteSettings
from courses import attendance
from courses.factories import make_event
from courses.models import Booking, Registration
from tests.accounts_support import log_in_with_second_factor
from tests.trainers_support.builders import build_track, lead, person, reviewer, start_submission

pytestmark = pytest.mark.django_db

VS = VideoSubmission.Status


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def _text(response):
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _register(candidate, event, status="confirmed"):
    booking = Booking.objects.create(event=event, purchaser=candidate, status="confirmed")
    return Registration.objects.create(
        booking=booking,
        event=event,
        ticket_type=event.ticket_types.first(),
        attendee=candidate,
        attendee_name=candidate.legal_name,
        attendee_email=candidate.email,
        status=status,
        unit_price=0,
    )


# --- item 13: the candidate's pages -----------------------------------------------------------


def test_resubmission_requested_version_offers_a_new_upload_on_its_own_page(client):
    track = build_track()
    candidate = person("casey@example.org", "Casey Candidate")
    submission = start_submission(track, candidate)
    VideoSubmission.objects.filter(pk=submission.pk).update(status=VS.RESUBMISSION_REQUESTED)
    client.force_login(candidate)

    page = client.get(reverse("trainers:video", args=[submission.public_id]))
    new_upload = reverse(
        "trainers:video_start", args=[submission.enrolment.public_id, submission.requirement_id]
    )
    assert "Upload a new version" in _text(page)
    assert f'href="{new_upload}"' in page.content.decode()

    # While a version is with the reviewers there is nothing to replace it with.
    VideoSubmission.objects.filter(pk=submission.pk).update(status=VS.IN_REVIEW)
    assert "Upload a new version" not in _text(
        client.get(reverse("trainers:video", args=[submission.public_id]))
    )


def test_an_older_version_does_not_offer_a_new_upload(client):
    track = build_track()
    candidate = person("casey@example.org", "Casey Candidate")
    first = start_submission(track, candidate)
    VideoSubmission.objects.filter(pk=first.pk).update(status=VS.RESUBMISSION_REQUESTED)
    second = services.start_video_submission(
        first.enrolment, first.requirement, actor=candidate, consent=True
    )
    client.force_login(candidate)
    assert "Upload a new version" not in _text(
        client.get(reverse("trainers:video", args=[first.public_id]))
    )
    assert second.version == 2


def test_a_candidate_registered_for_the_next_training_is_told_to_attend(client):
    track = build_track()
    programme = track.requirements.get(kind="attendance").programme
    candidate = person("casey@example.org", "Casey Candidate")
    services.enrol(track, candidate, actor=candidate)
    event = make_event(
        title="Training of Trainers 2027", programme=programme, starts_in=timedelta(days=60)
    )
    client.force_login(candidate)
    page = _text(client.get("/certification/"))
    assert "Register for and attend a Training of Trainers event." in page

    _register(candidate, event)
    page = _text(client.get("/certification/"))
    day = event.local(event.starts_at).strftime("%-d %B %Y")
    assert f"Registered for {day}; attend to complete." in page
    assert "Register for and attend" not in page
    assert "See Training of Trainers 2027" in page


def test_a_cancelled_or_past_registration_still_says_register(client):
    track = build_track()
    programme = track.requirements.get(kind="attendance").programme
    candidate = person("casey@example.org", "Casey Candidate")
    services.enrol(track, candidate, actor=candidate)
    upcoming = make_event(title="ToT upcoming", programme=programme, starts_in=timedelta(days=60))
    past = make_event(title="ToT past", programme=programme, starts_in=timedelta(days=-30))
    _register(candidate, upcoming, status="cancelled")
    _register(candidate, past)
    client.force_login(candidate)
    page = _text(client.get("/certification/"))
    assert "Register for and attend a Training of Trainers event." in page
    assert "attend to complete" not in page


def _fail_attempt(enrolment, requirement, candidate):
    attempt = services.start_attempt(enrolment, requirement, actor=candidate)
    AssessmentAttempt.objects.filter(pk=attempt.pk).update(
        status=AssessmentAttempt.Status.FAILED, score_percent=0
    )


def test_take_the_assessment_goes_when_the_attempts_are_used_up(client):
    track = build_track()  # two attempts allowed
    candidate = person("casey@example.org", "Casey Candidate")
    enrolment = services.enrol(track, candidate, actor=candidate)
    requirement = track.requirements.get(kind="assessment")
    settings_row = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    settings_row.contact_email = "training@example.org"
    settings_row.save()
    client.force_login(candidate)

    _fail_attempt(enrolment, requirement, candidate)
    page = _text(client.get("/certification/"))
    assert "Take the assessment (1 attempt left)." in page
    assert "Take the assessment" in page.replace("Take the assessment (1 attempt left).", "")

    _fail_attempt(enrolment, requirement, candidate)
    response = client.get("/certification/")
    page = _text(response)
    assert "Take the assessment" not in page
    assert "You have used all 2 attempts." in page
    assert "write to them if you want to try again" in page
    assert 'href="mailto:training@example.org"' in response.content.decode()
    assessment_url = reverse("trainers:assessment", args=[enrolment.public_id, requirement.pk])
    assert assessment_url not in response.content.decode()


def test_an_attempt_in_progress_is_continued_not_counted_as_used_up(client):
    track = build_track()
    candidate = person("casey@example.org", "Casey Candidate")
    enrolment = services.enrol(track, candidate, actor=candidate)
    requirement = track.requirements.get(kind="assessment")
    _fail_attempt(enrolment, requirement, candidate)
    services.start_attempt(enrolment, requirement, actor=candidate)  # the last one, open
    client.force_login(candidate)
    page = _text(client.get("/certification/"))
    assert "Continue the assessment" in page
    assert "You have used all" not in page


def test_the_reviewer_picker_shows_preferred_and_legal_names(client):
    track = build_track()
    candidate = person("casey@example.org", "Casey Candidate")
    submission = start_submission(track, candidate)
    VideoSubmission.objects.filter(pk=submission.pk).update(status=VS.READY)
    robin = reviewer("robin@example.org", "Roberta Quinn")
    robin.preferred_name = "Robin"
    robin.save()
    reviewer("sam@example.org", "Sam Same")
    boss = lead()
    log_in_with_second_factor(client, boss)

    html = client.get(reverse("trainers:review", args=[submission.public_id])).content.decode()
    options = re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", html)
    assert "Robin (Roberta Quinn)" in options
    assert "Sam Same" in options  # no preferred name: the legal name once
    assert "Casey Candidate" not in options


# --- item 18: the public verify pages and the directory ---------------------------------------


@pytest.fixture
def ce_certificate():
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


def test_verify_page_spells_out_the_board_with_its_abbreviation(client, ce_certificate):
    page = _text(client.get(reverse("certification:verify", args=[ce_certificate.code])))
    assert "Valid." in page
    assert (
        "Florida Board of Clinical Social Work, MFT and Mental Health Counseling (FL 491)" in page
    )


def test_verify_not_found_does_not_repeat_what_was_typed(client):
    typed = "CE-ZZZZ-9999-<b>MARK"
    response = client.get(reverse("certification:verify", args=[typed]))
    assert response.status_code == 404
    text = response.content.decode()
    assert "We have no certificate with the ID you entered." in _text(response)
    assert "ZZZZ" not in text and "MARK" not in text

    # Typed in the form: lower case, and with a slash that cannot be an address segment.
    response = client.get(reverse("certification:verify_lookup"), {"code": "ce-zzzz-9999"})
    response = client.get(response["Location"])
    assert response.status_code == 404 and "ZZZZ" not in response.content.decode()
    response = client.get(reverse("certification:verify_lookup"), {"code": "CE-QQQQ/1234"})
    assert response.status_code == 404
    assert "QQQQ" not in response.content.decode()
    assert 'name="code"' in response.content.decode()  # the form to try again


def test_trainer_credential_not_found_does_not_repeat_the_address(client):
    for typed in ["not-a-code-XYZW", "00000000-0000-4000-8000-00000000beef"]:
        response = client.get(f"/certification/verify/{typed}/")
        assert response.status_code == 404
        assert "We have no trainer credential at this address." in _text(response)
        assert typed not in response.content.decode()
        assert "XYZW" not in response.content.decode()


def test_demo_lists_certified_trainers_in_the_directory_and_runs_again_unchanged(client):
    out = io.StringIO()
    trainers_demo.load_demo_content(out)
    trainers_demo.load_demo_content(io.StringIO())

    assert Credential.objects.filter(status=Credential.Status.ACTIVE).count() == len(DEMO_TRAINERS)
    assert DirectoryListing.objects.filter(listed=True).count() == len(DEMO_TRAINERS)
    assert Enrolment.objects.filter(status=Enrolment.Status.CERTIFIED).count() == len(DEMO_TRAINERS)
    assert "Directory: 3 certified trainers listed at http" in out.getvalue()
    assert out.getvalue().rstrip().endswith("/certification/directory/")

    page = _text(client.get(reverse("trainers:directory")))
    for legal_name, _preferred, _email, place, _number, _months in DEMO_TRAINERS:
        assert legal_name in page and place in page
    assert "Project Certified Trainer" in page

    # Each one verifies, and the lead sees every requirement met.
    credential = Credential.objects.get(number="CT-DEMO-0002")
    verify = _text(client.get(reverse("trainers:verify", args=[credential.verification_code])))
    assert "Valid." in verify and "Søren Ødegård" in verify
    assert services.all_requirements_met(credential.enrolment)
    assert credential.pdf_name


def test_a_demo_trainer_who_opted_out_stays_out(client):
    trainers_demo.load_demo_content(io.StringIO())
    DirectoryListing.objects.filter(person__email="kwame.mensah@example.org").update(listed=False)
    trainers_demo.load_demo_content(io.StringIO())
    page = _text(client.get(reverse("trainers:directory")))
    assert "Kwame Mensah" not in page and "Ana Lucía Pérez" in page
