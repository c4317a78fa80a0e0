"""The attendee's post-event evaluation, which can issue the certificate on submission."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit

from ..models import EvaluationAnswer, EvaluationResponse, EventCESettings, QuestionKind
from .common import CEError
from .eligibility import eligibility
from .issuing import issue_certificate


def evaluation_is_open(event, now=None):
    ce_settings = EventCESettings.objects.filter(event=event).first()
    if ce_settings:
        return ce_settings.evaluation_is_open(now)
    now = now or timezone.now()
    last = event.sessions.order_by("-start").first()
    return last is None or now >= last.start


@transaction.atomic
def submit_evaluation(registration, answers, *, actor):
    """Store the attendee's evaluation (once); issue the certificate if the event says so.

    `answers` maps question id to the cleaned value (int rating, choice string or text).
    """
    if EvaluationResponse.objects.filter(registration=registration).exists():
        raise CEError(_("You have already submitted the evaluation for this event. Thank you."))
    response = EvaluationResponse.objects.create(
        registration=registration, event=registration.event
    )
    for question in registration.event.evaluation_questions.all():
        value = answers.get(question.pk)
        if value in (None, ""):
            continue
        answer = EvaluationAnswer(response=response, question=question)
        if question.kind == QuestionKind.RATING:
            answer.rating = int(value)
        elif question.kind == QuestionKind.OBJECTIVE:
            answer.choice = str(value)
        else:
            answer.text = str(value)
        answer.save()
    audit.record("certification.evaluation.submitted", response, actor=actor)
    certificate = None
    ce_settings = EventCESettings.objects.filter(event=registration.event).first()
    if (
        ce_settings
        and ce_settings.auto_issue_on_evaluation
        and eligibility(registration).is_eligible
    ):
        certificate = issue_certificate(registration, actor=actor)
    return response, certificate
