"""Tracks, their requirements, candidates' enrolments and staff sign-offs.

Tracks are data (staff set them up in the admin), so a new designation needs no code.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel

FOUR_GIB = 4 * 1024**3


class Track(ClusterableModel):
    """A designation a candidate can earn, e.g. "Certified Trainer" or "FIT Supervisor"."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    credential_title = models.CharField(
        max_length=160, help_text=_("Printed on the certificate, e.g. 'FIT Certified Trainer'.")
    )
    is_open = models.BooleanField(
        default=True, help_text=_("Candidates can enrol themselves while the track is open.")
    )
    max_upload_bytes = models.BigIntegerField(
        default=FOUR_GIB, help_text=_("Largest video file accepted, in bytes (4 GB by default).")
    )
    max_duration_seconds = models.PositiveIntegerField(
        default=45 * 60, help_text=_("Longest video accepted, in seconds.")
    )
    review_days = models.PositiveIntegerField(
        default=21,
        help_text=_("Reviews not submitted this many days after assignment are overdue."),
    )
    video_retention_days = models.PositiveIntegerField(
        default=90,
        help_text=_(
            "Video files are deleted this many days after the final decision; "
            "the review record stays."
        ),
    )
    credential_valid_months = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Leave empty for a credential that does not expire.")
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        FieldPanel("credential_title"),
        FieldPanel("is_open"),
        FieldPanel("max_upload_bytes"),
        FieldPanel("max_duration_seconds"),
        FieldPanel("review_days"),
        FieldPanel("video_retention_days"),
        FieldPanel("credential_valid_months"),
        InlinePanel("requirements", label=_("Requirements")),
    ]

    class Meta:
        ordering = ["name"]
        permissions = [
            ("lead_certification", "Can assign reviewers, decide submissions, issue credentials"),
        ]

    def __str__(self):
        return self.name

    @property
    def pass_threshold(self):
        rubric = getattr(self, "rubric", None)
        return rubric.pass_threshold if rubric else None


class Requirement(models.Model):
    """One thing a candidate must do for a track."""

    class Kind(models.TextChoices):
        ATTENDANCE = "attendance", _("Attended an event of a programme")
        VIDEO = "video", _("Approved demonstration video")
        ASSESSMENT = "assessment", _("Passed knowledge assessment")
        EVIDENCE = "evidence", _("Other evidence reviewed by staff")

    track = ParentalKey(Track, on_delete=models.CASCADE, related_name="requirements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text=_("What the candidate should do."))
    programme = models.ForeignKey(
        "courses.Programme",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certification_requirements",
        help_text=_("For attendance: attending any event of this programme meets the requirement."),
    )
    question_bank = models.ForeignKey(
        "QuestionBank",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requirements",
        help_text=_("For a knowledge assessment: the question bank the candidate answers."),
    )
    due_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Deadline: days after enrolment (optional).")
    )
    sort_order = models.PositiveIntegerField(default=0)

    panels = [
        FieldPanel("kind"),
        FieldPanel("title"),
        FieldPanel("description"),
        FieldPanel("programme"),
        FieldPanel("question_bank"),
        FieldPanel("due_days"),
    ]

    class Meta:
        ordering = ["track", "sort_order", "pk"]

    def __str__(self):
        return f"{self.track}: {self.title}"


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Working towards the credential")
        CERTIFIED = "certified", _("Certified")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="enrolments")
    candidate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainer_enrolments"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["track", "candidate"], name="one_enrolment_per_track")
        ]
        ordering = ["-enrolled_at"]

    def __str__(self):
        return f"{self.candidate.display_name} – {self.track}"


class RequirementSignOff(models.Model):
    """Staff record that a requirement is met outside the platform (e.g. attendance in 2019)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="sign_offs")
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="+")
    note = models.TextField()
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "requirement"], name="one_sign_off")
        ]

    def __str__(self):
        return _("%(requirement)s signed off for %(enrolment)s") % {
            "requirement": self.requirement,
            "enrolment": self.enrolment,
        }
