"""Review of a video: the lead assigns reviewers, they score and comment, the lead decides."""

from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit
from cms.email import send_templated_email

from ..models import (
    Decision,
    Review,
    ReviewComment,
    ReviewerAssignment,
    ReviewScore,
    VideoSubmission,
)
from .access import can_review_submission, is_certification_lead, may_be_assigned_reviews
from .common import CertificationError

VS = VideoSubmission.Status


@transaction.atomic
def assign_reviewer(submission, reviewer, *, actor, due_at=None):
    if not is_certification_lead(actor):
        raise CertificationError(_("Only the certification lead can assign reviewers."))
    if not may_be_assigned_reviews(reviewer):
        raise CertificationError(
            _("%(name)s does not have the reviewer role.") % {"name": reviewer.display_name}
        )
    if reviewer.pk == submission.enrolment.candidate_id:
        raise CertificationError(_("A candidate cannot review their own video."))
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.status not in {VS.READY, VS.IN_REVIEW}:
        raise CertificationError(
            _("Only a processed video that is not yet decided can be assigned.")
        )
    due_at = due_at or timezone.now() + timedelta(days=submission.enrolment.track.review_days)
    assignment, created = ReviewerAssignment.objects.get_or_create(
        submission=submission,
        reviewer=reviewer,
        defaults={"assigned_by": actor, "due_at": due_at},
    )
    if submission.status == VS.READY:
        submission.status = VS.IN_REVIEW
        submission.save(update_fields=["status"])
    if created:
        audit.record(
            "trainers.review.assigned",
            submission,
            actor=actor,
            after={"reviewer": reviewer.email, "due": due_at.isoformat()},
        )
        send_templated_email(
            "certification/trainers/email/reviewer_assigned",
            reviewer.email,
            {
                "reviewer": reviewer,
                "submission": submission,
                "due_at": due_at,
                "url": reverse("trainers:review", args=[submission.public_id]),
            },
        )
    return assignment


@transaction.atomic
def add_comment(submission, *, author, at_seconds, body):
    if not can_review_submission(author, submission):
        raise CertificationError(_("Only the assigned reviewers can comment on this video."))
    if submission.is_decided:
        raise CertificationError(_("This video has been decided; comments are closed."))
    body = (body or "").strip()
    if not body:
        raise CertificationError(_("Write a comment before saving it."))
    at_seconds = max(0.0, float(at_seconds))
    if submission.duration_seconds:
        at_seconds = min(at_seconds, submission.duration_seconds)
    comment = ReviewComment.objects.create(
        submission=submission, author=author, at_seconds=at_seconds, body=body
    )
    audit.record("trainers.review.comment", submission, actor=author, after={"at": at_seconds})
    return comment


def evaluate_scores(rubric, levels_by_criterion):
    """Total points and whether they pass: threshold reached and every required criterion met."""
    total = sum(level.points for level in levels_by_criterion.values())
    required_ok = all(
        levels_by_criterion[c.pk].points >= c.minimum_points
        for c in rubric.criteria.all()
        if c.required
    )
    return total, total >= rubric.pass_threshold and required_ok


@transaction.atomic
def submit_review(assignment, *, scores, recommendation, guidance=""):
    """A reviewer's rubric scores and recommendation. `scores`: {criterion_id: level_id}."""
    submission = assignment.submission
    if submission.is_decided:
        raise CertificationError(_("This video has already been decided."))
    if recommendation not in Review.Recommendation.values:
        raise CertificationError(_("Choose a recommendation."))
    rubric = submission.enrolment.track.rubric
    criteria = list(rubric.criteria.prefetch_related("levels"))
    chosen = {}
    missing = []
    for criterion in criteria:
        level_id = scores.get(criterion.pk) or scores.get(str(criterion.pk))
        level = next((lvl for lvl in criterion.levels.all() if str(lvl.pk) == str(level_id)), None)
        if level is None:
            missing.append(criterion.title)
        else:
            chosen[criterion.pk] = level
    if missing:
        raise CertificationError(
            _("Score every criterion: %(criteria)s.") % {"criteria": ", ".join(missing)}
        )
    if recommendation != Review.Recommendation.APPROVE and not guidance.strip():
        raise CertificationError(_("Tell the candidate what to change (guidance is required)."))
    total, meets = evaluate_scores(rubric, chosen)
    review, _created = Review.objects.update_or_create(
        assignment=assignment,
        defaults={
            "recommendation": recommendation,
            "guidance": guidance.strip(),
            "total_points": total,
            "meets_rubric": meets,
            "submitted_at": timezone.now(),
        },
    )
    review.scores.all().delete()
    ReviewScore.objects.bulk_create(
        ReviewScore(review=review, criterion_id=cid, level=level) for cid, level in chosen.items()
    )
    audit.record(
        "trainers.review.submitted",
        submission,
        actor=assignment.reviewer,
        after={"recommendation": recommendation, "total": total, "meets_rubric": meets},
    )
    return review


def review_summary(submission):
    """Reviewers' scores side by side, with how far they agree."""
    rubric = submission.enrolment.track.rubric
    reviews = list(
        Review.objects.filter(assignment__submission=submission)
        .select_related("assignment__reviewer")
        .prefetch_related("scores__level")
    )
    rows = []
    agreed = 0
    for criterion in rubric.criteria.all():
        cells = []
        for review in reviews:
            score = next((s for s in review.scores.all() if s.criterion_id == criterion.pk), None)
            cells.append(score.level if score else None)
        points = [c.points for c in cells if c is not None]
        same = len(points) > 1 and len(set(points)) == 1
        agreed += same
        rows.append(
            {
                "criterion": criterion,
                "cells": cells,
                # Each level beside its review, so a stacked row can name the reviewer.
                "scored": list(zip(reviews, cells, strict=True)),
                "agree": same,
                "spread": (max(points) - min(points)) if points else 0,
            }
        )
    count = rubric.criteria.count()
    recommendations = {r.recommendation for r in reviews}
    return {
        "rubric": rubric,
        "reviews": reviews,
        "rows": rows,
        "criteria_agreement_percent": round(100 * agreed / count)
        if len(reviews) > 1 and count
        else None,
        "recommendations_agree": len(reviews) > 1 and len(recommendations) == 1,
    }


@transaction.atomic
def decide(submission, *, actor, outcome, guidance=""):
    """The certification lead's decision on a video version; the candidate is told."""
    if not is_certification_lead(actor):
        raise CertificationError(_("Only the certification lead can decide."))
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.status not in {VS.READY, VS.IN_REVIEW}:
        raise CertificationError(_("This video is not waiting for a decision."))
    if outcome not in Decision.Outcome.values:
        raise CertificationError(_("Choose approve, request resubmission or reject."))
    if outcome != Decision.Outcome.APPROVE and not guidance.strip():
        raise CertificationError(_("Give the candidate guidance with this decision."))
    status = {
        Decision.Outcome.APPROVE: VS.APPROVED,
        Decision.Outcome.RESUBMIT: VS.RESUBMISSION_REQUESTED,
        Decision.Outcome.REJECT: VS.REJECTED,
    }[outcome]
    Decision.objects.create(
        submission=submission, outcome=outcome, guidance=guidance.strip(), decided_by=actor
    )
    before = submission.status
    submission.status = status
    submission.decided_at = timezone.now()
    submission.save(update_fields=["status", "decided_at"])
    audit.record(
        "trainers.video.decided",
        submission,
        actor=actor,
        before={"status": before},
        after={"status": status},
        note=guidance,
    )
    send_templated_email(
        "certification/trainers/email/decision_made",
        submission.candidate.email,
        {
            "submission": submission,
            "outcome": submission.get_status_display(),
            "url": reverse("trainers:video", args=[submission.public_id]),
        },
    )
    return submission
