"""The watched intervals of an on-demand recording: only what was played counts, once, and
never faster than the wall clock (courses.services.watching)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from courses import services
from courses.models import WatchProgress
from courses.services.watching import MAX_HEARTBEAT_SECONDS, WatchingRefused
from tests.accounts_support import make_member
from tests.watching_support import make_course, make_seat

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0)


@pytest.fixture
def seat():
    course = make_course(durations=(600, 300))
    return make_seat(course, make_member("wanda@example.org", "Wanda Watcher"))


def beat(seat, recording, played_from, played_to, *, at, position=None):
    return services.record_heartbeat(
        seat,
        recording,
        played_from=played_from,
        played_to=played_to,
        position=played_to if position is None else position,
        now=START + timedelta(seconds=at),
    )


def part(seat, number):
    return seat.event.recordings.order_by("sort_order")[number - 1]


def test_seeking_to_the_end_earns_nothing(seat):
    first = part(seat, 1)
    beat(seat, first, 0, 10, at=10)
    # The attendee drags the slider to the end and lets the last 5 seconds play.
    progress = beat(seat, first, 595, 600, at=20)

    assert progress.intervals == [[0, 10], [595, 600]]
    assert progress.watched_seconds == 15
    assert progress.position_seconds == 600
    assert services.watched_percent(seat) == 1  # 15 s of 900 s: the skipped part is not there


def test_a_replayed_part_counts_once(seat):
    first = part(seat, 1)
    beat(seat, first, 0, 10, at=10)
    beat(seat, first, 10, 20, at=20)
    # Back to 5 s and over the same ground again, a little further.
    progress = beat(seat, first, 5, 25, at=40)

    assert progress.intervals == [[0, 25]]
    assert progress.watched_seconds == 25


def test_a_claim_faster_than_the_clock_is_refused_and_changes_nothing(seat):
    first = part(seat, 1)
    beat(seat, first, 0, 10, at=10)

    with pytest.raises(WatchingRefused) as refused:
        beat(seat, first, 10, 30, at=15)  # 20 s of video in 5 s of wall time

    assert refused.value.status == 409
    assert "normal speed" in refused.value.message
    progress = WatchProgress.objects.get(registration=seat, recording=first)
    assert progress.intervals == [[0, 10]] and progress.position_seconds == 10


def test_one_heartbeat_cannot_claim_more_than_its_span_even_after_a_long_pause(seat):
    first = part(seat, 1)
    beat(seat, first, 0, 10, at=10)

    with pytest.raises(WatchingRefused, match=f"at most {MAX_HEARTBEAT_SECONDS} seconds"):
        beat(seat, first, 10, 100, at=3600)
    assert not WatchProgress.objects.filter(watched_seconds__gt=10).exists()


def test_the_tolerance_cannot_be_saved_up_by_many_small_heartbeats(seat):
    first = part(seat, 1)
    beat(seat, first, 0, 10, at=10)
    # Each claims 2 s more than its second of wall time: the first borrows the tolerance...
    beat(seat, first, 10, 13, at=11)
    # ...and the next finds it spent.
    with pytest.raises(WatchingRefused):
        beat(seat, first, 13, 16, at=12)


def test_two_recordings_playing_at_once_share_one_clock(seat):
    beat(seat, part(seat, 1), 0, 10, at=10)
    with pytest.raises(WatchingRefused):
        beat(seat, part(seat, 2), 0, 10, at=10.5)
    progress = beat(seat, part(seat, 2), 0, 10, at=20)
    assert progress.watched_seconds == 10


def test_claims_are_clamped_to_the_recording(seat):
    second = part(seat, 2)  # 300 s long
    beat(seat, second, 0, 0, at=0)
    progress = beat(seat, second, 295, 320, at=30, position=9999)

    assert progress.intervals == [[295, 300]]
    assert progress.watched_seconds == 5
    assert progress.position_seconds == 300


@pytest.mark.parametrize(
    ("played_from", "played_to", "position"),
    [(10, 5, 5), ("nan", 5, 5), (-1, 5, 5), (0, "inf", 5), (0, 5, None)],
)
def test_impossible_numbers_are_refused(seat, played_from, played_to, position):
    with pytest.raises(WatchingRefused) as refused:
        services.record_heartbeat(
            seat,
            part(seat, 1),
            played_from=played_from,
            played_to=played_to,
            position=position,
            now=START,
        )
    assert refused.value.status == 400
    assert not WatchProgress.objects.exists()


def test_the_watched_share_covers_every_recording_by_length(seat):
    beat(seat, part(seat, 1), 0, 30, at=30)
    beat(seat, part(seat, 2), 0, 30, at=60)

    assert services.watched_share(seat) == pytest.approx(60 / 900)
    assert services.watched_percent(seat) == 6


def test_a_seat_that_is_not_confirmed_cannot_watch(seat):
    seat.status = "held"
    seat.save(update_fields=["status"])
    with pytest.raises(WatchingRefused) as refused:
        beat(seat, part(seat, 1), 0, 10, at=10)
    assert refused.value.status == 403
    assert "not confirmed" in refused.value.message
