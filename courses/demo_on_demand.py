"""The demo's on-demand (home-study) course, made as staff make one: last year's December
webinar with David Prescott is copied into a draft course (`on_demand_course_from`), given a
price and a recording, and published. The recording is a short test pattern made with ffmpeg,
titled as a placeholder for the real one. `courses.demo` calls this; running it twice changes
nothing."""

import shutil
import subprocess
import tempfile
from pathlib import Path

from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.models import Collection, CollectionViewRestriction

from courses.models import EventFormat, EventPage, EventRecording
from courses.services.on_demand import on_demand_course_from

# The copy keeps the free webinar's ticket; staff price the home-study course before publishing.
COURSE_TICKET = "On-demand course with CE"
COURSE_PRICE = 3900
COURSE_SUMMARY = (
    "The recording of David Prescott's webinar on feedback-informed treatment using PCOMS with "
    "adults who have sexually abused, to watch at your own pace."
)
COURSE_CE_SUMMARY = (
    "<p>1.5 hours of home-study CE: watch the recording, pass the post-test and complete the "
    "evaluation.</p>"
)
RECORDING_TITLE = "Webinar recording (placeholder: a test pattern until the real recording)"
RECORDING_SECONDS = 20
RECORDINGS_COLLECTION = "Course recordings"


def ensure_on_demand_course(index, ensure_webinar_edition, stdout, *, title, year):
    """The course `title` (on demand), copied from the `year` edition of the webinar.

    `ensure_webinar_edition(index, stdout, year=..., past=True)` makes that edition if it is
    missing and returns it, as `courses.demo` makes its webinars. Returns the course.
    """
    webinar, _ = ensure_webinar_edition(index, stdout, year=year, past=True)
    course = EventPage.objects.filter(
        format=EventFormat.ON_DEMAND, slug=f"{webinar.slug}-on-demand"
    ).first()
    if course is None:
        # As staff do it: the webinar is over, so it may become a course.
        course = on_demand_course_from(webinar, actor=None)
        stdout.write(f"  copied “{webinar.title}” into a draft on-demand course")
    if not course.live:
        course = _edit_draft(course, title)
    added = _add_recording(course, stdout)
    if added or not course.live:
        # The published revision carries the price and the recording, so an edit in Wagtail
        # starts from them.
        course = EventPage.objects.get(pk=course.pk)
        course.save_revision().publish()
        stdout.write(f"  published “{course.title}”")
    return course


def _edit_draft(course, title):
    """What staff change in the copy before publishing: a title without the past edition's
    year, a summary and CE note for home study rather than the live session, and a price
    (the free webinar's ticket becomes the course's paid one). Returns the course."""
    course = EventPage.objects.get(pk=course.pk)
    course.title = course.draft_title = f"{title} (on demand)"
    course.summary = COURSE_SUMMARY
    course.ce_summary = COURSE_CE_SUMMARY
    course.save(update_fields=["title", "draft_title", "summary", "ce_summary"])
    course.ticket_types.filter(price=0).update(name=COURSE_TICKET, price=COURSE_PRICE)
    return course


def _recordings_collection():
    """Recordings stream through the course's own player to its attendees only: the
    collection's restriction keeps Wagtail's document link closed to everyone else (no
    group may use it; superusers still can)."""
    root = Collection.get_first_root_node()
    collection = root.get_children().filter(name=RECORDINGS_COLLECTION).first()
    if collection is None:
        collection = root.add_child(name=RECORDINGS_COLLECTION)
    if not CollectionViewRestriction.objects.filter(collection=collection).exists():
        CollectionViewRestriction.objects.create(
            collection=collection, restriction_type=CollectionViewRestriction.GROUPS
        )
    return collection


def _test_pattern_mp4():
    """A real H.264/AAC MP4 that browsers play, or None without ffmpeg."""
    if not shutil.which("ffmpeg"):
        return None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "recording.mp4"
        # Fixed arguments, no user input.
        result = subprocess.run(  # noqa: S603
            [  # noqa: S607
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=duration={RECORDING_SECONDS}:size=640x360:rate=25",
                "-f",
                "lavfi",
                "-i",
                f"sine=duration={RECORDING_SECONDS}",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-movflags",
                "+faststart",
                "-shortest",
                str(out),
            ],
            capture_output=True,
            check=False,
        )
        return out.read_bytes() if result.returncode == 0 and out.exists() else None


def _add_recording(course, stdout):
    """True if the course got its recording now."""
    if course.recordings.exists():
        return False
    content = _test_pattern_mp4()
    if content is None:
        stdout.write("  skipped the course's recording: ffmpeg is not installed (or failed)")
        return False
    video = get_document_model()(title=RECORDING_TITLE, collection=_recordings_collection())
    video.file.save("webinar-recording-placeholder.mp4", ContentFile(content), save=False)
    video._set_document_file_metadata()
    video.save()
    EventRecording.objects.create(
        event=course, title=RECORDING_TITLE, video=video, duration_seconds=RECORDING_SECONDS
    )
    stdout.write(f"  added a placeholder recording to “{course.title}”")
    return True
