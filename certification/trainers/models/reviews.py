"""Review of a video: the track's rubric, reviewers' assignments, scores and comments, and the
certification lead's decision."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel

from .submissions import VideoSubmission
from .tracks import Track


class Rubric(ClusterableModel):
    track = models.OneToOneField(Track, on_delete=models.CASCADE, related_name="rubric")
    pass_threshold = models.PositiveIntegerField(
        help_text=_("Total points a video needs (and every required criterion at its minimum).")
    )
    guidance = models.TextField(blank=True, help_text=_("Shown to reviewers above the rubric."))

    panels = [
        FieldPanel("track"),
        FieldPanel("pass_threshold"),
        FieldPanel("guidance"),
        InlinePanel("criteria", label=_("Criteria")),
    ]

    def __str__(self):
        return _("Rubric for %(track)s") % {"track": self.track}

    @property
    def max_points(self):
        return sum(
            max((lvl.points for lvl in c.levels.all()), default=0) for c in self.criteria.all()
        )


class RubricCriterion(ClusterableModel):
    rubric = ParentalKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required = models.BooleanField(
        default=False, help_text=_("A video fails if this criterion scores below its minimum.")
    )
    minimum_points = models.PositiveIntegerField(
        default=0, help_text=_("For a required criterion: the lowest acceptable points.")
    )
    sort_order = models.PositiveIntegerField(default=0)

    panels = [
        FieldPanel("title"),
        FieldPanel("description"),
        FieldPanel("required"),
        FieldPanel("minimum_points"),
    ]

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.title


class RubricLevel(models.Model):
    criterion = ParentalKey(RubricCriterion, on_delete=models.CASCADE, related_name="levels")
    label = models.CharField(max_length=100)
    points = models.PositiveIntegerField()
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["criterion", "points"]

    def __str__(self):
        return f"{self.label} ({self.points})"


class ReviewerAssignment(models.Model):
    submission = models.ForeignKey(
        VideoSubmission, on_delete=models.CASCADE, related_name="assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainer_reviews"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "reviewer"], name="one_assignment")
        ]
        ordering = ["assigned_at"]

    def __str__(self):
        return _("%(reviewer)s reviews %(submission)s") % {
            "reviewer": self.reviewer,
            "submission": self.submission,
        }

    @property
    def is_overdue(self):
        return not hasattr(self, "review") and timezone.now() > self.due_at


class Review(models.Model):
    class Recommendation(models.TextChoices):
        APPROVE = "approve", _("Approve")
        RESUBMIT = "resubmit", _("Request resubmission")
        REJECT = "reject", _("Reject")

    assignment = models.OneToOneField(
        ReviewerAssignment, on_delete=models.CASCADE, related_name="review"
    )
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices)
    guidance = models.TextField(blank=True, help_text=_("What the candidate should work on."))
    total_points = models.PositiveIntegerField(default=0)
    meets_rubric = models.BooleanField(default=False)
    submitted_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return _("Review of %(submission)s: %(recommendation)s") % {
            "submission": self.assignment.submission,
            "recommendation": self.get_recommendation_display(),
        }


class ReviewScore(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(RubricCriterion, on_delete=models.PROTECT, related_name="+")
    level = models.ForeignKey(RubricLevel, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="one_score_per_criterion")
        ]

    def __str__(self):
        return f"{self.criterion}: {self.level}"


class ReviewComment(models.Model):
    submission = models.ForeignKey(
        VideoSubmission, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    at_seconds = models.FloatField(help_text=_("Where in the video the comment applies."))
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at_seconds", "created_at"]

    def __str__(self):
        return f"{self.timestamp} {self.body[:60]}"

    @property
    def timestamp(self):
        whole = int(self.at_seconds)
        return f"{whole // 60}:{whole % 60:02d}"


class Decision(models.Model):
    """The certification lead's final word on one video version."""

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approved")
        RESUBMIT = "resubmit", _("Resubmission requested")
        REJECT = "reject", _("Rejected")

    submission = models.OneToOneField(
        VideoSubmission, on_delete=models.CASCADE, related_name="decision"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    guidance = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.submission}: {self.get_outcome_display()}"
