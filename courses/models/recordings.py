"""Recordings of an on-demand (home-study) course and how much of each an attendee watched.

A recording is a video in the Wagtail document library (a members-only or otherwise private
collection), streamed with Range support to the registration's attendee only. Progress is kept
as the merged intervals of the recording that were actually played, reported by the player's
heartbeats: seeking ahead plays nothing, so it adds nothing, and no heartbeat may claim more
playing than the wall-clock time since the last one (`courses.services.watching`).
"""

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel
from wagtail.models import Orderable

from .events import EventPage
from .registrations import Registration


class EventRecording(Orderable):
    """One video of an on-demand course, watched in this order."""

    event = ParentalKey(EventPage, on_delete=models.CASCADE, related_name="recordings")
    title = models.CharField(max_length=200)
    video = models.ForeignKey(
        "wagtaildocs.Document",
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("An MP4 (H.264/AAC) in a private collection; only attendees can play it."),
    )
    duration_seconds = models.PositiveIntegerField(
        validators=[MinValueValidator(1)],
        help_text=_(
            "The recording's length in seconds (e.g. 5400 for 90 minutes): the watched share "
            "is measured against it."
        ),
    )

    panels = [FieldRowPanel([FieldPanel("title"), FieldPanel("duration_seconds")]), "video"]

    def __str__(self):
        return self.title


class WatchProgress(models.Model):
    """What one attendee has played of one recording."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="watch_progress"
    )
    recording = models.ForeignKey(EventRecording, on_delete=models.CASCADE, related_name="+")
    # Merged [start, end] second pairs of the recording that were played.
    intervals = models.JSONField(default=list)
    watched_seconds = models.PositiveIntegerField(default=0)
    # Where to resume: the position the player last reported.
    position_seconds = models.PositiveIntegerField(default=0)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "recording"], name="courses_one_progress_per_recording"
            )
        ]

    def __str__(self):
        return f"{self.registration} watched {self.watched_seconds}s of {self.recording}"


class WatchMilestone(models.Model):
    """When a seat's watched share of the whole course rose to `percent` (a whole percent).

    A row is written each time the share passes a new whole percent, so the day a body's
    required share was first reached stays fixed however much is watched afterwards: a
    home-study program is completed on the day its last condition was met."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="watch_milestones"
    )
    percent = models.PositiveSmallIntegerField()
    reached_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "percent"], name="courses_one_milestone_per_percent"
            )
        ]

    def __str__(self):
        return f"{self.registration} reached {self.percent}% at {self.reached_at:%Y-%m-%d %H:%M}"
