"""The post-event evaluation: questions staff set per event, and each attendee's answers."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel


class QuestionKind(models.TextChoices):
    RATING = "rating", _("Rating from 1 (poor) to 5 (excellent)")
    OBJECTIVE = "objective", _("Learning objective met? (yes / partly / no)")
    TEXT = "text", _("Free text")


OBJECTIVE_CHOICES = [("yes", _("Yes")), ("partly", _("Partly")), ("no", _("No"))]
RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]


class EvaluationQuestion(models.Model):
    event = models.ForeignKey(
        "courses.EventPage", on_delete=models.CASCADE, related_name="evaluation_questions"
    )
    sort_order = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=QuestionKind.choices)
    prompt = models.CharField(max_length=300)
    required = models.BooleanField(default=True)

    panels = [
        FieldPanel("event"),
        FieldRowPanel([FieldPanel("kind"), FieldPanel("sort_order")]),
        FieldPanel("prompt"),
        FieldPanel("required"),
    ]

    class Meta:
        ordering = ["event", "sort_order", "pk"]

    def __str__(self):
        return self.prompt


class EvaluationResponse(models.Model):
    """One attendee's submitted evaluation; kept for the sponsor's records (years)."""

    registration = models.OneToOneField(
        "courses.Registration", on_delete=models.CASCADE, related_name="evaluation"
    )
    event = models.ForeignKey(
        "courses.EventPage", on_delete=models.CASCADE, related_name="evaluation_responses"
    )
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["submitted_at"]

    def __str__(self):
        return _("Evaluation by %(name)s") % {"name": self.registration.attendee_name}


class EvaluationAnswer(models.Model):
    response = models.ForeignKey(
        EvaluationResponse, on_delete=models.CASCADE, related_name="answers"
    )
    question = models.ForeignKey(
        EvaluationQuestion, on_delete=models.PROTECT, related_name="answers"
    )
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=20, blank=True)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["question__sort_order", "question__pk"]
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question")
        ]

    def __str__(self):
        return f"{self.question}: {self.display}"

    @property
    def display(self):
        if self.rating is not None:
            return str(self.rating)
        return self.choice or self.text
