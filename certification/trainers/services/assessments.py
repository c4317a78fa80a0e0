"""The knowledge assessment: attempts in the candidate's own order, marked or graded."""

import random

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit
from cms.locking import lock_one

from ..models import AssessmentAttempt, Requirement
from .access import is_certification_lead
from .common import CertificationError


@transaction.atomic
def start_attempt(enrolment, requirement, *, actor):
    """Begin (or continue) an attempt; questions and choices in this candidate's own order."""
    if enrolment.candidate_id != actor.pk or requirement.kind != Requirement.Kind.ASSESSMENT:
        raise CertificationError(_("You cannot take this assessment."))
    bank = requirement.question_bank
    if bank is None or not bank.questions.exists():
        raise CertificationError(_("This assessment is not ready yet. Please check back later."))
    attempts = AssessmentAttempt.objects.select_for_update().filter(
        enrolment=enrolment, requirement=requirement
    )
    open_attempt = attempts.filter(status=AssessmentAttempt.Status.IN_PROGRESS).first()
    if open_attempt:
        return open_attempt
    if attempts.filter(status=AssessmentAttempt.Status.PASSED).exists():
        raise CertificationError(_("You have already passed this assessment."))
    if attempts.filter(status=AssessmentAttempt.Status.AWAITING_GRADING).exists():
        raise CertificationError(_("Your answers are waiting to be graded."))
    if attempts.count() >= bank.attempt_limit:
        raise CertificationError(
            _("You have used all %(limit)s attempts. Contact the certification team.")
            % {"limit": bank.attempt_limit}
        )
    questions = list(bank.questions.prefetch_related("choices"))
    rng = random.SystemRandom()
    if bank.randomise_order:
        rng.shuffle(questions)
    choice_order = {}
    for question in questions:
        ids = [c.pk for c in question.choices.all()]
        if bank.randomise_order:
            rng.shuffle(ids)
        choice_order[str(question.pk)] = ids
    attempt = AssessmentAttempt.objects.create(
        enrolment=enrolment,
        requirement=requirement,
        bank=bank,
        number=(attempts.aggregate(n=Max("number"))["n"] or 0) + 1,
        question_order=[q.pk for q in questions],
        choice_order=choice_order,
    )
    audit.record("trainers.assessment.started", attempt, actor=actor)
    return attempt


@transaction.atomic
def submit_attempt(attempt, *, actor, answers):
    """Mark choice questions at once; written answers wait for staff.

    `answers`: {question_id: [choice_id, ...] or "text"}.
    """
    attempt = AssessmentAttempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.enrolment.candidate_id != actor.pk:
        raise CertificationError(_("This is not your attempt."))
    if attempt.status != AssessmentAttempt.Status.IN_PROGRESS:
        raise CertificationError(_("This attempt has already been submitted."))
    questions = {q.pk: q for q in attempt.bank.questions.prefetch_related("choices")}
    unanswered = []
    stored = {}
    correct = 0
    needs_grading = False
    for qid in attempt.question_order:
        question = questions.get(qid)
        if question is None:
            continue
        given = answers.get(str(qid), answers.get(qid))
        if question.kind == question.Kind.WRITTEN:
            text = (given or "").strip() if isinstance(given, str) else ""
            if not text:
                unanswered.append(question)
            stored[str(qid)] = text
            needs_grading = True
            continue
        chosen = sorted(int(c) for c in (given or []) if str(c).isdigit())
        if not chosen:
            unanswered.append(question)
        stored[str(qid)] = chosen
        right = sorted(c.pk for c in question.choices.all() if c.is_correct)
        correct += chosen == right
    if unanswered:
        raise CertificationError(
            _("Answer every question (%(count)s left unanswered).") % {"count": len(unanswered)}
        )
    attempt.answers = stored
    attempt.submitted_at = timezone.now()
    if needs_grading:
        attempt.status = AssessmentAttempt.Status.AWAITING_GRADING
    else:
        attempt.score_percent = round(100 * correct / max(len(attempt.question_order), 1))
        attempt.status = (
            AssessmentAttempt.Status.PASSED
            if attempt.score_percent >= attempt.bank.pass_mark_percent
            else AssessmentAttempt.Status.FAILED
        )
    attempt.save()
    audit.record(
        "trainers.assessment.submitted",
        attempt,
        actor=actor,
        after={"status": attempt.status, "score": attempt.score_percent},
    )
    return attempt


@transaction.atomic
def grade_attempt(attempt, *, actor, score_percent, feedback=""):
    if not is_certification_lead(actor):
        raise CertificationError(_("Only certification staff can grade written answers."))
    # Graded once: a second grader (or a second click) finds it graded and changes nothing.
    attempt = lock_one(AssessmentAttempt, attempt.pk)
    if attempt.status != AssessmentAttempt.Status.AWAITING_GRADING:
        raise CertificationError(_("This attempt is not waiting for grading."))
    score_percent = max(0, min(100, int(score_percent)))
    attempt.score_percent = score_percent
    attempt.grader_feedback = feedback.strip()
    attempt.graded_by = actor
    attempt.status = (
        AssessmentAttempt.Status.PASSED
        if score_percent >= attempt.bank.pass_mark_percent
        else AssessmentAttempt.Status.FAILED
    )
    attempt.save()
    audit.record(
        "trainers.assessment.graded", attempt, actor=actor, after={"status": attempt.status}
    )
    return attempt
