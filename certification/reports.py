"""Evaluation results for staff: aggregated per question, and every answer as CSV."""

import io
from collections import Counter

from django.utils.translation import gettext as _

from cms import exports

from .models import EvaluationAnswer, EvaluationResponse, QuestionKind
from .models.evaluations import OBJECTIVE_CHOICES


def evaluation_summary(event):
    """Per question: the average and spread of ratings, objective counts, or the comments."""
    responses = EvaluationResponse.objects.filter(event=event).count()
    answers = EvaluationAnswer.objects.filter(response__event=event).select_related("question")
    by_question = {}
    for answer in answers:
        by_question.setdefault(answer.question_id, []).append(answer)
    results = []
    for question in event.evaluation_questions.all():
        given = by_question.get(question.pk, [])
        item = {"question": question, "count": len(given)}
        if question.kind == QuestionKind.RATING:
            ratings = [a.rating for a in given if a.rating is not None]
            counts = Counter(ratings)
            item["average"] = round(sum(ratings) / len(ratings), 2) if ratings else None
            item["distribution"] = [(n, counts.get(n, 0)) for n in range(1, 6)]
        elif question.kind == QuestionKind.OBJECTIVE:
            counts = Counter(a.choice for a in given)
            item["distribution"] = [
                (label, counts.get(value, 0)) for value, label in OBJECTIVE_CHOICES
            ]
        else:
            item["comments"] = [a.text for a in given if a.text.strip()]
        results.append(item)
    return {"responses": responses, "questions": results}


def evaluation_csv(event):
    questions = list(event.evaluation_questions.all())
    buffer = io.StringIO()
    writer = exports.csv_writer(buffer)
    writer.writerow(
        [_("Submitted at (UTC)"), _("Attendee"), _("Email")] + [q.prompt for q in questions]
    )
    responses = (
        EvaluationResponse.objects.filter(event=event)
        .select_related("registration")
        .prefetch_related("answers")
        .order_by("submitted_at")
    )
    for response in responses:
        answers = {
            a.question_id: a.rating if a.rating is not None else a.display
            for a in response.answers.all()
        }
        writer.writerow(
            [
                response.submitted_at.isoformat(timespec="seconds"),
                response.registration.attendee_name,
                response.registration.attendee_email,
            ]
            + [answers.get(q.pk, "") for q in questions]
        )
    return exports.BOM + buffer.getvalue()
