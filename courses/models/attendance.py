"""Who attended which session, from when to when; and the Zoom reports it was imported from.

Owned by the CE side (helper "ce-certificates"); only `courses.attendance` changes these rows.
An entry is never edited into something else: a wrong one is voided with a reason and a new
one recorded, so an audit years later sees what was known when.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .events import EventPage, EventSession
from .registrations import Registration


class AttendanceSource(models.TextChoices):
    STAFF = "staff", _("Checked in by staff")
    SELF_CODE = "self_code", _("Self check-in with the session code")
    ZOOM = "zoom", _("Zoom attendee report")


class SessionAttendance(models.Model):
    """One stretch of presence of one registrant in one session.

    Someone who leaves and comes back has several entries. A check-in without a check-out
    counts until the session ends (people are checked out only when they leave early).
    """

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="attendances"
    )
    session = models.ForeignKey(EventSession, on_delete=models.CASCADE, related_name="attendances")
    checked_in_at = models.DateTimeField()
    checked_out_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(
        max_length=20, choices=AttendanceSource.choices, default=AttendanceSource.STAFF
    )
    zoom_row = models.ForeignKey(
        "ZoomImportRow", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["session__start", "checked_in_at"]
        indexes = [models.Index(fields=["registration", "session"])]
        verbose_name_plural = _("session attendances")

    def __str__(self):
        return f"{self.registration.attendee_name} at {self.session.title}"


class SessionCheckInCode(models.Model):
    """The short code a presenter shows so attendees can check themselves in."""

    session = models.OneToOneField(
        EventSession, on_delete=models.CASCADE, related_name="check_in_code"
    )
    code = models.CharField(max_length=12, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.code} for {self.session.title}"


class ZoomImportStatus(models.TextChoices):
    IMPORTED = "imported", _("Imported")
    REFUSED = "refused", _("Refused (nothing imported)")


class ZoomImport(models.Model):
    """One uploaded Zoom attendee report and what became of it."""

    event = models.ForeignKey(EventPage, on_delete=models.CASCADE, related_name="zoom_imports")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=ZoomImportStatus.choices)
    metadata = models.JSONField(default=dict, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return gettext("Zoom report %(filename)s for %(event)s") % {
            "filename": self.filename,
            "event": self.event.title,
        }


class ZoomImportRow(models.Model):
    """One join from a Zoom report, kept as read (times in UTC) for audits and matching."""

    zoom_import = models.ForeignKey(ZoomImport, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField()
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    join_at = models.DateTimeField()
    leave_at = models.DateTimeField()
    registration = models.ForeignKey(
        Registration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["line"]

    def __str__(self):
        return f"Line {self.line}: {self.email}"


__all__ = [
    "AttendanceSource",
    "SessionAttendance",
    "SessionCheckInCode",
    "ZoomImport",
    "ZoomImportRow",
    "ZoomImportStatus",
]
