"""Watching an on-demand course in Chromium, at desktop and phone widths: the attendee opens
the course from My registrations, plays a real MP4, and the server keeps what was played; a
reload resumes the player there, and a seek ahead earns nothing."""

import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from courses.models import WatchProgress
from tests.accounts_support import log_in_browser, make_member
from tests.browser.conftest import assert_accessible
from tests.watching_support import make_course, make_seat

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
SECONDS = 6


@pytest.fixture(scope="session")
def real_mp4(tmp_path_factory):
    """A 6-second H.264/AAC MP4 (test pattern and tone), made once per test session."""
    if not shutil.which("ffmpeg"):
        pytest.fail("ffmpeg is needed to make the test video (apt-get install ffmpeg)")
    out = tmp_path_factory.mktemp("video") / "course.mp4"
    subprocess.run(  # noqa: S603 - fixed arguments, no user input
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc=duration={SECONDS}:size=320x240:rate=10",
            "-f",
            "lavfi",
            "-i",
            f"sine=duration={SECONDS}",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(out),
        ],  # fmt: skip
        check=True,
    )
    return out.read_bytes()


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def play_until(page, seconds):
    """Play the (muted) recording until it reaches `seconds`, then pause it."""
    page.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; "
                  "await v.play(); }")  # fmt: skip
    page.wait_for_function(
        f"() => document.querySelector('video').currentTime >= {seconds}", timeout=20_000
    )
    page.evaluate("() => document.querySelector('video').pause()")


def progress():
    return WatchProgress.objects.get()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_attendee_watches_resumes_and_a_seek_earns_nothing(page, real_mp4, width):
    page.set_viewport_size({"width": width, "height": 900})
    course = make_course(durations=(SECONDS,), content=real_mp4)
    wanda = make_member("wanda@example.org", "Wanda Watcher")
    make_seat(course, wanda)
    log_in_browser(page, wanda)

    page.goto("/registrations/")
    page.get_by_role("link", name="Watch the recordings").click()
    expect(page.locator("main h1")).to_have_text(course.title)
    expect(page.locator("main")).to_contain_text("You have watched 0% of the course.")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    # Given the attendee plays the first half and pauses,
    play_until(page, 3)
    # then the server kept those seconds and the page says so.
    expect(page.locator("[data-course-percent]")).not_to_have_text("0%")
    watched = progress()
    assert 2 <= watched.watched_seconds <= 4, watched.intervals
    assert watched.intervals[0][0] == 0
    assert 2 <= watched.position_seconds <= 4
    shown = page.locator("[data-course-percent]").inner_text()
    assert shown == f"{watched.watched_seconds * 100 // SECONDS}%"

    # When the page is reloaded, the player starts where they stopped.
    page.reload()
    page.wait_for_function("() => document.querySelector('video').readyState >= 1")
    page.wait_for_function(
        f"() => Math.abs(document.querySelector('video').currentTime - "
        f"{watched.position_seconds}) < 0.5"
    )
    expect(page.locator("main")).to_contain_text(f"You have watched {shown} of the course.")

    # And when they jump to the last second and let it play out, the skipped part earns nothing.
    page.evaluate("() => { document.querySelector('video').currentTime = 5; }")
    page.wait_for_function("() => !document.querySelector('video').seeking")
    page.evaluate("async () => { const v = document.querySelector('video'); v.muted = true; "
                  "await v.play(); }")  # fmt: skip
    page.wait_for_function("() => document.querySelector('video').ended", timeout=20_000)
    expect(page.locator("[data-course-percent]")).not_to_have_text(shown)
    after = progress()
    assert len(after.intervals) == 2, after.intervals
    assert after.intervals[1][0] >= 4.9 and after.intervals[1][1] == SECONDS
    assert after.watched_seconds <= watched.watched_seconds + 1.5
    assert re.fullmatch(r"\d+%", page.locator("[data-course-percent]").inner_text())
    assert_no_sideways_scroll(page)
    assert_accessible(page)
