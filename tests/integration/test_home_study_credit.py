"""Credit for a home-study (recorded) program: the offering's hours once the body's
conditions are met (a passed post-test, the share of the recordings watched), the completion
date the day the last condition was met, and the body's home-study statement on the
certificate."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from certification import services
from certification.credits import credits_for_registration
from certification.factories import ce_settings, make_body, make_event, make_offering
from certification.factories import make_registration as make_seat
from certification.models import PostTestAttempt
from courses import services as courses_services
from tests.accounts_support import make_member
from tests.integration.test_post_tests import answers_for, make_bank
from tests.watching_support import make_recording

pytestmark = pytest.mark.django_db

HOME_STUDY_STATEMENT = "Approved by the APA for home study (self-paced) continuing education."


@pytest.fixture
def course():
    event = make_event("Feedback-Informed Treatment at home", format="on_demand")
    ce_settings(event, is_recorded=True, post_test=make_bank(randomise=False))
    body = make_body(home_study_watched_percent=80)
    make_offering(event, body, hours=Decimal("1.50"), home_study_statement=HOME_STUDY_STATEMENT)
    make_recording(event, duration=100)
    return event


def _seat(course):
    person = make_member("hope@example.org", "Hope Homestudy")
    return make_seat(course, user=person, name=person.legal_name)


def _watch(seat, seconds, start=0):
    recording = seat.event.recordings.get()
    at = courses_services.last_watched_at(seat) or timezone.now() - timedelta(hours=1)
    for second in range(start, start + seconds, 20):
        at += timedelta(seconds=25)
        courses_services.record_heartbeat(
            seat,
            recording,
            played_from=second,
            played_to=min(second + 20, start + seconds),
            position=second + 20,
            now=at,
        )


def _pass_post_test(seat):
    attempt = services.start_post_test(seat, actor=seat.attendee)
    answers = {key[1:]: value for key, value in answers_for(attempt, right=True).items()}
    return services.submit_post_test(attempt, actor=seat.attendee, answers=answers)


def test_no_credit_until_the_post_test_is_passed_and_enough_is_watched(course):
    seat = _seat(course)
    _watch(seat, 40)

    [credit] = credits_for_registration(seat)
    assert credit.hours == 0
    assert "APA requires a passed post-test for a recorded program" in credit.reason
    assert "watched 40% of the recordings, and APA requires 80%" in credit.reason

    _pass_post_test(seat)
    _watch(seat, 60, start=40)

    [credit] = credits_for_registration(seat)
    assert (credit.hours, credit.full, credit.reason) == (Decimal("1.50"), True, "")


def test_the_certificate_is_home_study_with_the_bodys_home_study_statement(course):
    seat = _seat(course)
    _watch(seat, 100)
    attempt = _pass_post_test(seat)
    assert attempt.status == PostTestAttempt.Status.PASSED
    services.submit_evaluation(seat, {}, actor=seat.attendee)

    certificate = services.issue_certificate(seat)

    assert certificate.program_format == "Home study (recorded program)"
    assert certificate.credits[0]["statement"] == HOME_STUDY_STATEMENT
    assert certificate.completed_on == timezone.localtime(timezone.now(), course.zone).date()
    assert certificate.credits[0]["hours"] == "1.50"
