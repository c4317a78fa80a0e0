"""Post-tests of home-study courses: each attempt an attendee makes, kept for audit.

The questions are a trainer-assessment question bank (single and multiple choice), chosen on
the event's CE settings with the pass mark, the number of attempts and the wait between them.
An attempt keeps the order its questions and choices were shown in, the answers given and
the score, so an auditor sees exactly what the attendee saw.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PostTestAttempt(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Not passed")

    TRANSITIONS = {
        Status.IN_PROGRESS: {Status.PASSED, Status.FAILED},
        Status.PASSED: set(),
        Status.FAILED: set(),
    }

    registration = models.ForeignKey(
        "courses.Registration", on_delete=models.CASCADE, related_name="post_test_attempts"
    )
    bank = models.ForeignKey(
        "trainers.QuestionBank", on_delete=models.PROTECT, related_name="post_test_attempts"
    )
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    # The order this attendee saw: question ids, and per question its choice ids.
    question_order = models.JSONField(default=list)
    choice_order = models.JSONField(default=dict)
    answers = models.JSONField(default=dict)
    score_percent = models.PositiveIntegerField(null=True, blank=True)
    pass_percent = models.PositiveIntegerField(help_text=_("The pass mark when it was taken."))
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registration", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "number"], name="certification_post_test_attempt_number"
            ),
            models.UniqueConstraint(
                fields=["registration"],
                condition=models.Q(status="in_progress"),
                name="certification_one_open_post_test",
            ),
        ]

    def __str__(self):
        return _("Post-test attempt %(number)s (%(status)s)") % {
            "number": self.number,
            "status": self.get_status_display(),
        }
