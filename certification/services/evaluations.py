"""The attendee's post-event evaluation, which can issue the certificate on submission."""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit
from cms.locking import Busy

from ..credits import ce_settings_of
from ..models import EvaluationAnswer, EvaluationResponse, EventCESettings, QuestionKind
from .common import CEError
from .eligibility import eligibility
from .issuing import issue_certificate

log = logging.getLogger(__name__)


def evaluation_is_open(event, now=None):
    """Open from the CE settings' opening time, else from the start of the last session.

    Reads the event's CE settings and sessions from what was selected and prefetched with it
    when they were (My CE lists many events), else asks the database.
    """
    now = now or timezone.now()
    ce_settings = ce_settings_of(event)
    opens = ce_settings.evaluation_opens_at if ce_settings else None
    if opens is None:
        opens = _last_session_start(event)
    return opens is None or now >= opens


def _last_session_start(event):
    if "sessions" in getattr(event, "_prefetched_objects_cache", {}):
        starts = [s.start for s in event.sessions.all() if s.start]
        return max(starts) if starts else None
    last = event.sessions.order_by("-start").first()
    return last.start if last else None


def submit_evaluation(registration, answers, *, actor):
    """Store the attendee's evaluation (once); issue the certificate if the event says so.

    `answers` maps question id to the cleaned value (int rating, choice string or text).
    The evaluation commits first; the certificate is issued after it, outside that
    transaction, because its PDF is rendered before any lock is taken (see
    `issue_certificate`). If the issue fails, the evaluation stays submitted and the
    certificate can be issued by staff or a bulk issue.
    """
    response = _store_evaluation(registration, answers, actor=actor)
    certificate = None
    ce_settings = EventCESettings.objects.filter(event=registration.event).first()
    if (
        ce_settings
        and ce_settings.auto_issue_on_evaluation
        and eligibility(registration).is_eligible
    ):
        try:
            certificate = issue_certificate(registration, actor=actor)
        except (CEError, Busy):
            # The evaluation is in; the certificate waits for staff or the next bulk issue.
            log.warning("Auto-issue after the evaluation failed for %s", registration.pk)
    return response, certificate


@transaction.atomic
def _store_evaluation(registration, answers, *, actor):
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
    return response
