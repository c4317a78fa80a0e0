"""A home-study certificate's completion date: the day the last of its three conditions was met
(the post-test passed, the evaluation submitted, the share of the recordings its bodies ask for
first reached), in the course's zone. Watching more afterwards does not move it."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from certification import services
from certification.factories import ce_settings, make_body, make_event, make_offering
from certification.factories import make_registration as make_seat
from courses import services as courses_services
from courses.models.recordings import WatchMilestone
from tests.accounts_support import make_member
from tests.integration.test_post_tests import answers_for, make_bank
from tests.watching_support import make_recording

pytestmark = pytest.mark.django_db

# The course was recorded in Los Angeles (UTC-7 in March 2026, after the clocks went forward).
ZONE = "America/Los_Angeles"
RECORDED = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)


def utc(day, hour, minute=0):
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def course():
    event = make_event(
        "Feedback-Informed Treatment at home", format="on_demand", time_zone=ZONE, starts=RECORDED
    )
    ce_settings(event, is_recorded=True, post_test=make_bank(randomise=False))
    make_offering(event, make_body(home_study_watched_percent=80), hours=Decimal("1.50"))
    make_recording(event, duration=100)
    return event


@pytest.fixture
def seat(course):
    person = make_member("hope@example.org", "Hope Homestudy")
    return make_seat(course, user=person, name=person.legal_name)


def watch(seat, start, end, *, at):
    """Play seconds [start, end] of the course's recording in 20-second heartbeats from `at`."""
    recording = seat.event.recordings.get()
    for second in range(start, end, 20):
        at += timedelta(seconds=25)
        courses_services.record_heartbeat(
            seat,
            recording,
            played_from=second,
            played_to=min(second + 20, end),
            position=min(second + 20, end),
            now=at,
        )
    return at


def pass_post_test(seat, *, at):
    with time_machine.travel(at, tick=False):
        attempt = services.start_post_test(seat, actor=seat.attendee)
        answers = {key[1:]: value for key, value in answers_for(attempt, right=True).items()}
        return services.submit_post_test(attempt, actor=seat.attendee, answers=answers)


def submit_evaluation(seat, *, at):
    with time_machine.travel(at, tick=False):
        services.submit_evaluation(seat, {}, actor=seat.attendee)


def issue(seat):
    with time_machine.travel(utc(20, 12), tick=False):
        return services.issue_certificate(seat, notify=False)


def test_watching_more_after_the_share_was_reached_does_not_move_the_date(seat):
    # Given the post-test and the evaluation done on 8 March,
    pass_post_test(seat, at=utc(8, 18))
    submit_evaluation(seat, at=utc(8, 19))
    # 80% watched late on 9 March in Los Angeles (already 10 March in UTC),
    watch(seat, 0, 80, at=utc(10, 5))
    # and the rest watched on 12 March,
    watch(seat, 80, 100, at=utc(12, 16))

    certificate = issue(seat)

    # then the program was completed on 9 March, the day 80% was first reached there.
    assert certificate.completed_on == date(2026, 3, 9)
    assert courses_services.watched_percent(seat) == 100


def test_the_post_test_passed_last_is_the_completion_day(seat):
    watch(seat, 0, 100, at=utc(9, 16))
    submit_evaluation(seat, at=utc(10, 16))
    pass_post_test(seat, at=utc(11, 16))
    watch(seat, 0, 40, at=utc(14, 16))  # watched again later: nothing new is earned

    assert issue(seat).completed_on == date(2026, 3, 11)


def test_the_largest_share_a_body_asks_for_decides(course, seat):
    # A second body asks for every minute; the first asks for 80%.
    make_offering(course, make_body("NBCC", home_study_watched_percent=100), hours=Decimal("1.50"))
    pass_post_test(seat, at=utc(8, 18))
    submit_evaluation(seat, at=utc(8, 19))
    watch(seat, 0, 80, at=utc(9, 16))
    watch(seat, 80, 100, at=utc(13, 16))

    certificate = issue(seat)

    assert [line["short_name"] for line in certificate.credits] == ["APA", "NBCC"]
    assert certificate.completed_on == date(2026, 3, 13)


def test_a_share_not_reached_is_no_condition_of_the_certificate(course, seat):
    # NBCC asks for 100% and gives nothing to a seat that watched 90%; APA's 80% decides.
    make_offering(course, make_body("NBCC", home_study_watched_percent=100), hours=Decimal("1.50"))
    pass_post_test(seat, at=utc(8, 18))
    submit_evaluation(seat, at=utc(8, 19))
    watch(seat, 0, 80, at=utc(9, 16))
    watch(seat, 80, 90, at=utc(13, 16))

    certificate = issue(seat)

    assert [(line["short_name"], line["hours"]) for line in certificate.credits] == [
        ("APA", "1.50"),
    ]
    assert certificate.completed_on == date(2026, 3, 9)


def test_the_first_moment_each_share_was_reached_is_kept(seat):
    done = watch(seat, 0, 40, at=utc(9, 16))  # 40% after the second heartbeat
    watch(seat, 0, 40, at=utc(10, 16))  # replayed: the share does not rise
    watch(seat, 40, 60, at=utc(11, 16))

    rows = list(WatchMilestone.objects.filter(registration=seat).order_by("percent"))
    assert [(row.percent, row.reached_at) for row in rows] == [
        (20, utc(9, 16) + timedelta(seconds=25)),
        (40, done),
        (60, utc(11, 16) + timedelta(seconds=25)),
    ]
    assert courses_services.share_first_reached_at(seat, 30) == done
    assert courses_services.share_first_reached_at(seat, 60) == utc(11, 16, 0) + timedelta(
        seconds=25
    )
    assert courses_services.share_first_reached_at(seat, 61) is None
