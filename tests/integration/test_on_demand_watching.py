"""Watching an on-demand course through the site: the watch page, the recording's bytes with
Range, and the player's heartbeats (courses.watch_views), as the attendee, another person,
an unconfirmed seat and staff meet them."""

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from cms.roles import EVENT_MANAGER, FINANCE
from courses.models import RegistrationStatus, WatchProgress
from tests.accounts_support import make_member
from tests.watching_support import FAKE_VIDEO, make_course, make_seat

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def course():
    return make_course(durations=(600, 300))


@pytest.fixture
def wanda(course):
    return make_member("wanda@example.org", "Wanda Watcher")


@pytest.fixture
def seat(course, wanda):
    return make_seat(course, wanda)


@pytest.fixture
def wanda_client(client, wanda):
    client.force_login(wanda)
    return client


def part(event, number):
    return event.recordings.order_by("sort_order")[number - 1]


def heartbeat_url(seat, recording):
    return f"/registrations/seats/{seat.public_id}/recordings/{recording.pk}/heartbeat/"


def beat(client, seat, recording, played_from, played_to, *, at, position=None):
    with time_machine.travel(T0 + timedelta(seconds=at), tick=False):
        return client.post(
            heartbeat_url(seat, recording),
            json.dumps(
                {
                    "played_from": played_from,
                    "played_to": played_to,
                    "position": played_to if position is None else position,
                }
            ),
            content_type="application/json",
            HTTP_ACCEPT="application/json",
        )


def text(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_heartbeats_add_what_was_played_and_the_page_resumes_there(wanda_client, seat, course):
    first = part(course, 1)
    assert beat(wanda_client, seat, first, 0, 10, at=10).json()["watched_seconds"] == 10
    answer = beat(wanda_client, seat, first, 10, 20, at=20, position=20)
    # Seeking to the end and letting it finish adds only what played there.
    final = beat(wanda_client, seat, first, 590, 600, at=30).json()

    assert answer.status_code == 200
    assert final == {
        "watched_seconds": 30,
        "recording_percent": 5,
        "watched_percent": 3,  # 30 s of 900 s
        "position": 600,
    }
    progress = WatchProgress.objects.get(registration=seat, recording=first)
    assert progress.intervals == [[0, 20], [590, 600]]

    beat(wanda_client, seat, first, 100, 100, at=40, position=100)  # paused at 1:40
    page = wanda_client.get(f"/registrations/seats/{seat.public_id}/watch/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "You have watched 3% of the course." in text(page)
    assert re.search(
        rf'src="/registrations/seats/{seat.public_id}/recordings/{first.pk}/"[^>]*'
        r'data-resume-at="100"',
        html,
    )
    assert f'data-heartbeat-url="{heartbeat_url(seat, first)}"' in html
    assert "Part 1" in text(page) and "Part 2" in text(page)
    assert 'src="/static/dist/watch.js"' in html


def test_a_heartbeat_faster_than_the_clock_is_refused_with_a_message(wanda_client, seat, course):
    first = part(course, 1)
    beat(wanda_client, seat, first, 0, 10, at=10)

    refused = beat(wanda_client, seat, first, 10, 30, at=12)

    assert refused.status_code == 409
    assert "progress counts at normal speed" in refused.json()["message"]
    assert WatchProgress.objects.get(recording=first).watched_seconds == 10


def test_a_malformed_report_is_refused(wanda_client, seat, course):
    response = wanda_client.post(
        heartbeat_url(seat, part(course, 1)), "not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "could not be read" in response.json()["message"]
    too_big = wanda_client.post(
        heartbeat_url(seat, part(course, 1)),
        json.dumps({"played_from": 0, "played_to": 1, "position": 1, "pad": "x" * 2000}),
        content_type="application/json",
    )
    assert too_big.status_code == 400
    assert not WatchProgress.objects.exists()


def test_heartbeats_need_a_signed_in_attendee(client, seat, course):
    response = beat(client, seat, part(course, 1), 0, 10, at=10)

    assert response.status_code == 403
    assert "sign in again" in response.json()["message"]
    assert not WatchProgress.objects.exists()


def test_another_persons_seat_is_not_found(client, seat, course):
    client.force_login(make_member("olga@example.org", "Olga Other"))

    assert beat(client, seat, part(course, 1), 0, 10, at=10).status_code == 404
    assert client.get(f"/registrations/seats/{seat.public_id}/watch/").status_code == 404
    recording = f"/registrations/seats/{seat.public_id}/recordings/{part(course, 1).pk}/"
    assert client.get(recording).status_code == 404
    assert not WatchProgress.objects.exists()


def test_a_recording_of_another_course_is_not_found(wanda_client, seat):
    other = make_course(title="Another course")
    assert beat(wanda_client, seat, part(other, 1), 0, 10, at=10).status_code == 404
    url = f"/registrations/seats/{seat.public_id}/recordings/{part(other, 1).pk}/"
    assert wanda_client.get(url).status_code == 404


def test_a_held_seat_cannot_watch_yet(wanda_client, course, wanda):
    held = make_seat(course, wanda, status=RegistrationStatus.HELD)

    refused = beat(wanda_client, held, part(course, 1), 0, 10, at=10)
    assert refused.status_code == 403
    assert "not confirmed" in refused.json()["message"]
    page = wanda_client.get(f"/registrations/seats/{held.public_id}/watch/")
    assert page.status_code == 403
    assert "the recordings open once the registration is complete" in text(page)
    assert "<video" not in page.content.decode()
    file_url = f"/registrations/seats/{held.public_id}/recordings/{part(course, 1).pk}/"
    assert wanda_client.get(file_url).status_code == 404
    assert not WatchProgress.objects.exists()


def test_the_recording_streams_with_range_requests(wanda_client, seat, course):
    url = f"/registrations/seats/{seat.public_id}/recordings/{part(course, 1).pk}/"

    part_of_it = wanda_client.get(url, HTTP_RANGE="bytes=10-19")
    assert part_of_it.status_code == 206
    assert part_of_it["Content-Range"] == f"bytes 10-19/{len(FAKE_VIDEO)}"
    assert part_of_it["Accept-Ranges"] == "bytes"
    assert part_of_it["Content-Type"] == "video/mp4"
    assert part_of_it["Cache-Control"] == "private, no-store"
    assert b"".join(part_of_it.streaming_content) == FAKE_VIDEO[10:20]
    whole = wanda_client.get(url)
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == FAKE_VIDEO
    assert wanda_client.get(url, HTTP_RANGE="bytes=999999-").status_code == 416
    assert Client().get(url).status_code == 302  # to the login page


def test_staff_see_each_persons_watched_percentage(client, staff_signed_in, seat, course):
    beat(Client(), seat, part(course, 1), 0, 10, at=10)  # signed out: counts nothing
    assert not WatchProgress.objects.exists()
    attendee = Client()
    attendee.force_login(seat.attendee)
    beat(attendee, seat, part(course, 1), 0, 30, at=30)
    beat(attendee, seat, part(course, 2), 0, 15, at=45)
    idle = make_seat(course, make_member("ivan@example.org", "Ivan Idle"))
    staff_signed_in(EVENT_MANAGER)

    listing = client.get(f"/admin/course_registrations/?event={course.pk}").content.decode()
    rows = [
        [text_of(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", listing, flags=re.S)
    ]
    assert "Watched" in {cell for cells in rows for cell in cells}  # the column's heading
    wanda_row = next(cells for cells in rows if "Wanda Watcher" in " ".join(cells))
    ivan_row = next(cells for cells in rows if "Ivan Idle" in " ".join(cells))
    assert "5%" in wanda_row  # 45 s of 900 s
    assert "0%" in ivan_row

    # Staff open the attendee's page: the progress is shown, their playing counts for nobody.
    page = client.get(f"/registrations/seats/{seat.public_id}/watch/")
    assert page.status_code == 200
    assert "Wanda Watcher has watched 5% of the course." in text(page)
    assert "what you play here does not count for Wanda Watcher" in text(page)
    assert "data-heartbeat-url" not in page.content.decode()
    assert beat(client, idle, part(course, 1), 0, 10, at=60).status_code == 404
    file_url = f"/registrations/seats/{seat.public_id}/recordings/{part(course, 1).pk}/"
    assert client.get(file_url, HTTP_RANGE="bytes=0-9").status_code == 206


def test_staff_without_the_registrations_role_see_nothing(client, staff_signed_in, seat):
    staff_signed_in(FINANCE)
    assert client.get(f"/registrations/seats/{seat.public_id}/watch/").status_code == 404


def test_my_registrations_links_the_watch_page_for_a_confirmed_seat(wanda_client, seat, course):
    page = wanda_client.get("/registrations/").content.decode()
    assert f'href="/registrations/seats/{seat.public_id}/watch/"' in page
    assert "Watch the recordings" in page


def text_of(cell):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
