"""My CE with home-study courses waiting for a certificate: what each one says about its
post-test, in a number of queries that does not grow with the number of courses; and what
staff see of one person's watching, recording by recording."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.factories import ce_settings, make_body, make_event, make_offering
from certification.factories import make_registration as make_seat
from cms.roles import EVENT_MANAGER
from courses import services as courses_services
from tests.accounts_support import make_member
from tests.integration.test_post_tests import answers_for, make_bank
from tests.watching_support import make_recording

pytestmark = pytest.mark.django_db


@pytest.fixture
def hope():
    return make_member("hope@example.org", "Hope Homestudy")


def home_study_seat(person, number, *, durations=(100,)):
    """`person`'s seat on a home-study course of its own, with a post-test and recordings."""
    event = make_event(f"Home-study course {number}", format="on_demand")
    ce_settings(event, is_recorded=True, post_test=make_bank(randomise=False))
    make_offering(event, make_body(home_study_watched_percent=80), hours=Decimal("1.50"))
    for part, duration in enumerate(durations, start=1):
        make_recording(event, f"Part {part}", duration=duration)
    return make_seat(event, user=person, name=person.legal_name)


def watch(seat, recording, seconds, *, at):
    for second in range(0, seconds, 20):
        at += timedelta(seconds=25)
        courses_services.record_heartbeat(
            seat,
            recording,
            played_from=second,
            played_to=min(second + 20, seconds),
            position=min(second + 20, seconds),
            now=at,
        )
    return at


def attempt_post_test(seat, *, right):
    attempt = services.start_post_test(seat, actor=seat.attendee)
    answers = {key[1:]: value for key, value in answers_for(attempt, right=right).items()}
    return services.submit_post_test(attempt, actor=seat.attendee, answers=answers)


def text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def my_ce_queries(client):
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("certification:my_ce"))
    assert page.status_code == 200
    return len(queries), text(page.content.decode())


def warm_my_ce_queries(client):
    """The queries of My CE once the site's caches are warm: the first page after pages were
    published also reads the site's settings and root paths, whatever it lists."""
    my_ce_queries(client)
    return my_ce_queries(client)


def test_my_ce_costs_the_same_queries_for_one_or_five_home_study_courses(client, hope):
    client.force_login(hope)
    first = home_study_seat(hope, 1)
    watch(first, first.event.recordings.get(), 40, at=timezone.now() - timedelta(hours=2))
    attempt_post_test(first, right=True)
    one, page = warm_my_ce_queries(client)
    assert "Home-study course 1" in page
    assert "Post-test passed on" in page

    for number in range(2, 6):
        seat = home_study_seat(hope, number)
        watch(seat, seat.event.recordings.get(), 20, at=timezone.now() - timedelta(hours=2))
        attempt_post_test(seat, right=number % 2 == 0)
    five, page = warm_my_ce_queries(client)

    assert all(f"Home-study course {n}" in page for n in range(1, 6))
    # Passed: 1, 2 and 4; to take again: 3 and 5.
    assert page.count("Post-test passed on") == 3
    assert page.count("Take the post-test") == 2
    assert "watched 20% of the recordings, and APA requires 80%" in page
    assert five == one


def rows_of(html):
    return [
        [text(cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S)
    ]


def test_staff_see_what_a_person_played_of_each_recording(client, staff_signed_in, hope):
    seat = home_study_seat(hope, 1, durations=(100, 300))
    first, second = seat.event.recordings.order_by("sort_order")
    # 8:00 in New York on 2 March: the whole first part, then the first minute of the second.
    at = watch(seat, first, 100, at=datetime(2026, 3, 2, 13, 0, tzinfo=UTC))
    watch(seat, second, 60, at=at)
    staff_signed_in(EVENT_MANAGER)

    page = client.get(f"/registrations/seats/{seat.public_id}/watch/")

    assert page.status_code == 200
    assert "Hope Homestudy has watched 40% of the course." in text(page.content.decode())
    assert rows_of(page.content.decode()) == [
        ["Recording", "Watched", "Parts played", "Last played"],
        ["Part 1", "100%", "0:00–1:40", "2 Mar 2026, 08:02 (America/New_York)"],
        ["Part 2", "20%", "0:00–1:00", "2 Mar 2026, 08:03 (America/New_York)"],
    ]


def test_the_attendee_sees_no_staff_record(client, hope):
    seat = home_study_seat(hope, 1, durations=(100, 300))
    client.force_login(hope)

    page = client.get(f"/registrations/seats/{seat.public_id}/watch/").content.decode()

    assert "You have watched 0% of the course." in text(page)
    assert "Parts played" not in page
