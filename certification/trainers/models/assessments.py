"""Knowledge assessments: question banks, questions and choices, and candidates' attempts."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel

from .tracks import Enrolment, Requirement


class QuestionBank(ClusterableModel):
    class Mode(models.TextChoices):
        CHOICE = "choice", _("Single and multiple choice, marked automatically")
        WRITTEN = "written", _("Written answers graded by staff")

    title = models.CharField(max_length=200)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.CHOICE)
    instructions = models.TextField(blank=True)
    pass_mark_percent = models.PositiveIntegerField(default=80)
    attempt_limit = models.PositiveIntegerField(default=3)
    randomise_order = models.BooleanField(default=True)

    panels = [
        FieldPanel("title"),
        FieldPanel("mode"),
        FieldPanel("instructions"),
        FieldPanel("pass_mark_percent"),
        FieldPanel("attempt_limit"),
        FieldPanel("randomise_order"),
        InlinePanel("questions", label=_("Questions")),
    ]

    def __str__(self):
        return self.title


class Question(ClusterableModel):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice (select all that apply)")
        WRITTEN = "written", _("Written answer")

    bank = ParentalKey(QuestionBank, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SINGLE)
    text = models.TextField()
    sort_order = models.PositiveIntegerField(default=0)

    panels = [FieldPanel("kind"), FieldPanel("text"), InlinePanel("choices", label=_("Choices"))]

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.text[:80]


class Choice(models.Model):
    question = ParentalKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=300)
    is_correct = models.BooleanField(default=False)

    panels = [FieldPanel("text"), FieldPanel("is_correct")]

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.text


class AssessmentAttempt(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        AWAITING_GRADING = "awaiting_grading", _("Waiting for staff to grade")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Not passed")

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attempts")
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey(QuestionBank, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    # The order this candidate saw: question ids, and per question its choice ids.
    question_order = models.JSONField(default=list)
    choice_order = models.JSONField(default=dict)
    answers = models.JSONField(default=dict)
    score_percent = models.PositiveIntegerField(null=True, blank=True)
    grader_feedback = models.TextField(blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "requirement", "number"], name="one_attempt_number"
            ),
            # One attempt open (being taken or waiting for its grade) at a time.
            models.UniqueConstraint(
                fields=["enrolment", "requirement"],
                condition=models.Q(status__in=["in_progress", "awaiting_grading"]),
                name="one_open_attempt",
            ),
        ]

    def __str__(self):
        return _("%(bank)s attempt %(number)s (%(status)s)") % {
            "bank": self.bank,
            "number": self.number,
            "status": self.get_status_display(),
        }
