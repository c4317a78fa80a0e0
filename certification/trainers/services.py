"""Every state change of trainer certification happens here, inside a transaction, audited.

Views, staff screens and Celery tasks call these functions; they never save models themselves.
"""

import logging
import random
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from cms import audit
from cms.access import Perm, can, holds, may_act_for_others

from .models import (
    AssessmentAttempt,
    Credential,
    Decision,
    DirectoryListing,
    Enrolment,
    EvidenceSubmission,
    Requirement,
    RequirementSignOff,
    Review,
    ReviewComment,
    ReviewerAssignment,
    ReviewScore,
    Track,
    VideoSubmission,
    VideoUpload,
)

log = logging.getLogger(__name__)

VS = VideoSubmission.Status
IN_FLIGHT = {VS.UPLOADING, VS.PROCESSING, VS.READY, VS.IN_REVIEW}


class CertificationError(Exception):
    """A request the rules do not allow; the message tells the person what to do instead."""


class UploadTooLarge(CertificationError):
    pass


# --- who may do what ------------------------------------------------------------------------


def is_certification_lead(user):
    """The lead assigns reviewers, decides, and issues credentials (with a second factor)."""
    return can(user, Perm.LEAD_CERTIFICATION)


def is_reviewer(user):
    """A reviewer acting now, in a session that completed a second factor."""
    return can(user, Perm.REVIEW_SUBMISSION)


def may_be_assigned_reviews(person):
    """Whether a person's role lets them be assigned videos (they need not be signed in)."""
    return holds(person, Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)


def can_view_submission(user, submission):
    """Only the candidate, the reviewers assigned to it and the certification lead."""
    if not user.is_authenticated:
        return False
    if submission.enrolment.candidate_id == user.pk:
        return True
    return can_review_submission(user, submission)


def can_review_submission(user, submission):
    """The lead, or a reviewer assigned to it; staff without their second factor are asked
    for it (cms.access.SecondFactorRequired) rather than refused."""
    if not user.is_authenticated:
        return False
    assigned = submission.assignments.filter(reviewer=user).exists()
    if assigned:
        return may_act_for_others(user, Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)
    return may_act_for_others(user, Perm.LEAD_CERTIFICATION)


def _snapshot(obj, *fields):
    return {name: str(getattr(obj, name)) for name in fields}


def _send(template_base, to, context):
    """Send a plain-text email rendered from templates/certification/trainers/email/."""
    if not to:
        return
    from django.core.mail import send_mail

    context = {"site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"certification/trainers/email/{template_base}_subject.txt", context)
    body = render_to_string(f"certification/trainers/email/{template_base}.txt", context)
    send_mail(" ".join(subject.split()), body, None, [to])


def _email_after_commit(template_base, to, context):
    transaction.on_commit(lambda: _send(template_base, to, context))


# --- enrolment and requirements ---------------------------------------------------------------


@transaction.atomic
def enrol(track, candidate, *, actor=None):
    """Enrol a candidate (by themselves while the track is open, or by the lead at any time)."""
    existing = Enrolment.objects.filter(track=track, candidate=candidate).first()
    if existing:
        if existing.status == Enrolment.Status.WITHDRAWN:
            existing.status = Enrolment.Status.ACTIVE
            existing.save(update_fields=["status"])
            audit.record("trainers.enrolment.reopened", existing, actor=actor)
        return existing
    by_staff = actor is not None and actor.pk != candidate.pk and is_certification_lead(actor)
    if not track.is_open and not by_staff:
        raise CertificationError(
            f"Enrolment in {track.name} is closed at the moment. Write to us if you want to join."
        )
    enrolment = Enrolment.objects.create(track=track, candidate=candidate, enrolled_by=actor)
    audit.record("trainers.enrolment.created", enrolment, actor=actor, after={"track": track.name})
    return enrolment


def attended_programme(user, programme):
    """Whether `user` attended (any session of) an event of `programme`.

    Read-only from the courses app's attendance records; a voided check-in does not count.
    """
    if programme is None:
        return False
    from courses.models import SessionAttendance

    return SessionAttendance.objects.filter(
        registration__attendee=user,
        registration__event__programme=programme,
        voided_at__isnull=True,
    ).exists()


@dataclass
class RequirementState:
    requirement: Requirement
    met: bool
    state: str
    next_step: str
    deadline: object = None
    overdue: bool = False
    items: list = field(default_factory=list)


def requirement_states(enrolment):
    """What the candidate's dashboard shows for each requirement."""
    sign_offs = {s.requirement_id: s for s in enrolment.sign_offs.all()}
    states = []
    for requirement in enrolment.track.requirements.all():
        deadline = (
            enrolment.enrolled_at + timedelta(days=requirement.due_days)
            if requirement.due_days
            else None
        )
        state = _state_for(enrolment, requirement)
        if requirement.pk in sign_offs and not state.met:
            state = RequirementState(
                requirement, True, "Met (confirmed by staff)", "", items=state.items
            )
        state.deadline = deadline
        state.overdue = bool(deadline and not state.met and timezone.now() > deadline)
        states.append(state)
    return states


def _state_for(enrolment, requirement):
    kind = requirement.kind
    if kind == Requirement.Kind.ATTENDANCE:
        if attended_programme(enrolment.candidate, requirement.programme):
            return RequirementState(requirement, True, "Attended", "")
        programme = requirement.programme.name if requirement.programme else "qualifying"
        return RequirementState(
            requirement,
            False,
            "Not yet attended",
            f"Register for and attend a {programme} event.",
        )
    if kind == Requirement.Kind.VIDEO:
        videos = list(enrolment.videos.filter(requirement=requirement).order_by("-version"))
        latest = videos[0] if videos else None
        if any(v.status == VS.APPROVED for v in videos):
            return RequirementState(requirement, True, "Approved", "", items=videos)
        if latest is None:
            return RequirementState(
                requirement, False, "Not started", "Upload your demonstration video."
            )
        steps = {
            VS.UPLOADING: "Finish uploading your video.",
            VS.PROCESSING: "We are preparing your video; we will email you when it is ready.",
            VS.FAILED: "Upload the video again in a format we can read.",
            VS.READY: "Your video is waiting for a reviewer.",
            VS.IN_REVIEW: "Your video is being reviewed.",
            VS.RESUBMISSION_REQUESTED: "Read the reviewers' guidance and upload a new version.",
            VS.REJECTED: "Read the feedback; you may upload a new version.",
            VS.WITHDRAWN: "Upload a new version when you are ready.",
        }
        return RequirementState(
            requirement, False, latest.get_status_display(), steps[latest.status], items=videos
        )
    if kind == Requirement.Kind.ASSESSMENT:
        attempts = list(enrolment.attempts.filter(requirement=requirement))
        if any(a.status == AssessmentAttempt.Status.PASSED for a in attempts):
            return RequirementState(requirement, True, "Passed", "", items=attempts)
        bank = requirement.question_bank
        used = len(attempts)
        if any(a.status == AssessmentAttempt.Status.AWAITING_GRADING for a in attempts):
            return RequirementState(
                requirement,
                False,
                "Waiting for grading",
                "Staff will grade your answers.",
                items=attempts,
            )
        if bank and used >= bank.attempt_limit:
            return RequirementState(
                requirement,
                False,
                "No attempts left",
                "Contact the certification team about another attempt.",
                items=attempts,
            )
        left = bank.attempt_limit - used if bank else 0
        return RequirementState(
            requirement,
            False,
            "Not passed yet" if attempts else "Not started",
            f"Take the assessment ({left} attempt{'s' if left != 1 else ''} left).",
            items=attempts,
        )
    evidence = list(enrolment.evidence.filter(requirement=requirement))
    if any(e.status == EvidenceSubmission.Status.ACCEPTED for e in evidence):
        return RequirementState(requirement, True, "Accepted", "", items=evidence)
    if evidence and evidence[0].status == EvidenceSubmission.Status.SUBMITTED:
        return RequirementState(
            requirement, False, "Waiting for staff review", "Staff will read it.", items=evidence
        )
    return RequirementState(
        requirement,
        False,
        "Returned with feedback" if evidence else "Not started",
        "Submit your evidence.",
        items=evidence,
    )


def all_requirements_met(enrolment):
    return all(s.met for s in requirement_states(enrolment))


@transaction.atomic
def sign_off_requirement(enrolment, requirement, *, actor, note):
    if not is_certification_lead(actor):
        raise CertificationError("Only the certification lead can sign off a requirement.")
    sign_off, _ = RequirementSignOff.objects.update_or_create(
        enrolment=enrolment,
        requirement=requirement,
        defaults={"note": note, "signed_off_by": actor, "signed_off_at": timezone.now()},
    )
    audit.record("trainers.requirement.signed_off", enrolment, actor=actor, note=note)
    return sign_off


# --- video submissions and uploads ------------------------------------------------------------


@transaction.atomic
def start_video_submission(enrolment, requirement, *, actor, consent):
    """A new version of the candidate's video, awaiting its upload."""
    if not consent:
        raise CertificationError(
            "Please confirm that everyone recognisable in the video agreed to its use for "
            "certification (or is role-playing) before uploading."
        )
    if enrolment.candidate_id != actor.pk:
        raise CertificationError("Only the candidate can upload their video.")
    if enrolment.status != Enrolment.Status.ACTIVE or requirement.track_id != enrolment.track_id:
        raise CertificationError("This enrolment is not open for uploads.")
    if requirement.kind != Requirement.Kind.VIDEO:
        raise CertificationError("This requirement does not take a video.")
    earlier = (
        VideoSubmission.objects.select_for_update()
        .filter(enrolment=enrolment, requirement=requirement)
        .order_by("-version")
    )
    latest = earlier.first()
    if latest and latest.status == VS.UPLOADING and not hasattr(latest, "upload"):
        return latest
    if latest and latest.status in IN_FLIGHT:
        raise CertificationError(
            "Your current video is still being uploaded, processed or reviewed. "
            "Withdraw it first if you want to replace it."
        )
    if earlier.filter(status=VS.APPROVED).exists():
        raise CertificationError("Your video for this requirement is already approved.")
    submission = VideoSubmission.objects.create(
        enrolment=enrolment,
        requirement=requirement,
        version=(latest.version + 1) if latest else 1,
        previous=latest,
        consent_confirmed_at=timezone.now(),
    )
    audit.record(
        "trainers.video.created",
        submission,
        actor=actor,
        after={"version": submission.version, "consent": True},
    )
    return submission


def safe_display_name(filename):
    """Keep a file name for display only: no path parts, no control characters, bounded."""
    name = (filename or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name.strip()[:200] or "video"


@transaction.atomic
def create_upload(submission, *, owner, length, filename, backend=VideoUpload.Backend.TUS):
    """Record the upload's declared size, refusing it before any byte is stored."""
    if submission.enrolment.candidate_id != owner.pk or submission.status != VS.UPLOADING:
        raise CertificationError("This submission is not waiting for an upload.")
    limit = submission.enrolment.track.max_upload_bytes
    if length > limit:
        raise UploadTooLarge(
            f"The file is {length / 1024**3:.2f} GB; the limit for this track is "
            f"{limit / 1024**3:.2f} GB. Shorten or compress the video and try again."
        )
    if length <= 0:
        raise CertificationError("The file is empty. Choose the video file itself.")
    if hasattr(submission, "upload"):
        old = submission.upload
        discard_upload_files(old)
        old.delete()
    upload = VideoUpload.objects.create(
        submission=submission, owner=owner, length=length, backend=backend
    )
    submission.original_filename = safe_display_name(filename)
    submission.size_bytes = length
    submission.save(update_fields=["original_filename", "size_bytes"])
    audit.record(
        "trainers.upload.created",
        submission,
        actor=owner,
        after={"bytes": length, "backend": backend},
    )
    return upload


def submission_prefix(submission):
    return f"videos/{submission.public_id}"


def discard_upload_files(upload):
    """Remove a partial upload's bytes (tus file or S3 multipart parts)."""
    from . import s3, tus

    if upload.backend == VideoUpload.Backend.TUS:
        tus.delete_partial(upload)
    elif upload.s3_upload_id:
        s3.abort(upload)


@transaction.atomic
def complete_upload(upload, *, source_name):
    """All bytes arrived: hand the file to processing."""
    submission = VideoSubmission.objects.select_for_update().get(pk=upload.submission_id)
    if submission.status != VS.UPLOADING:
        return submission
    upload.offset = upload.length
    upload.completed_at = timezone.now()
    upload.save(update_fields=["offset", "completed_at"])
    submission.source_name = source_name
    submission.status = VS.PROCESSING
    submission.save(update_fields=["source_name", "status"])
    audit.record(
        "trainers.video.uploaded",
        submission,
        actor=upload.owner,
        before={"status": VS.UPLOADING},
        after={"status": VS.PROCESSING},
    )
    from .tasks import process_video

    transaction.on_commit(lambda: process_video.delay(submission.pk))
    return submission


def delete_video_files(submission):
    """Delete every stored file of a submission (source, playback copy, poster)."""
    storage = storages["private"]
    for name in {submission.source_name, submission.playback_name, submission.poster_name}:
        if name:
            try:
                storage.delete(name)
            except OSError:
                log.warning("Could not delete %s", name)
    if hasattr(submission, "upload"):
        discard_upload_files(submission.upload)


@transaction.atomic
def mark_processed(submission, *, info, playback_name, poster_name, transcoded):
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.status != VS.PROCESSING:
        return submission
    for key, value in info.items():
        setattr(submission, key, value)
    submission.playback_name = playback_name
    submission.poster_name = poster_name
    submission.transcoded = transcoded
    submission.status = VS.READY
    submission.processed_at = timezone.now()
    submission.save()
    audit.record(
        "trainers.video.processed",
        submission,
        before={"status": VS.PROCESSING},
        after={"status": VS.READY, **{k: str(v) for k, v in info.items()}},
    )
    _email_after_commit(
        "processing_finished",
        submission.candidate.email,
        {"submission": submission, "url": reverse("trainers:dashboard")},
    )
    return submission


@transaction.atomic
def mark_failed(submission, *, reason):
    """Processing rejected the file: keep the row and the reason, remove every byte."""
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    delete_video_files(submission)
    before = submission.status
    submission.status = VS.FAILED
    submission.failure_reason = reason
    submission.source_name = submission.playback_name = submission.poster_name = ""
    submission.save()
    VideoUpload.objects.filter(submission=submission).delete()
    audit.record(
        "trainers.video.failed",
        submission,
        before={"status": before},
        after={"status": VS.FAILED},
        note=reason,
    )
    _email_after_commit(
        "processing_failed",
        submission.candidate.email,
        {"submission": submission, "reason": reason, "url": reverse("trainers:dashboard")},
    )
    return submission


@transaction.atomic
def withdraw_submission(submission, *, actor):
    """The candidate takes a video back: its files go now, the record stays."""
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.enrolment.candidate_id != actor.pk:
        raise CertificationError("Only the candidate can withdraw their video.")
    if submission.is_decided or submission.status == VS.WITHDRAWN:
        raise CertificationError("A decided video cannot be withdrawn.")
    before = submission.status
    delete_video_files(submission)
    VideoUpload.objects.filter(submission=submission).delete()
    submission.status = VS.WITHDRAWN
    submission.source_name = submission.playback_name = submission.poster_name = ""
    submission.files_deleted_at = timezone.now()
    submission.save()
    audit.record(
        "trainers.video.withdrawn",
        submission,
        actor=actor,
        before={"status": before},
        after={"status": VS.WITHDRAWN},
    )
    return submission


STALE_UPLOAD_DAYS = 7


@transaction.atomic
def purge_expired_videos(*, now=None):
    """Delete video files a track's retention period after the final decision.

    Also drops the bytes of uploads abandoned for a week; the candidate can start again.
    """
    now = now or timezone.now()
    for upload in VideoUpload.objects.filter(
        completed_at__isnull=True, created_at__lt=now - timedelta(days=STALE_UPLOAD_DAYS)
    ).select_related("submission"):
        discard_upload_files(upload)
        audit.record("trainers.upload.abandoned", upload.submission, note="stale upload removed")
        upload.delete()
    purged = 0
    candidates = VideoSubmission.objects.filter(
        status__in=list(VideoSubmission.FINAL), files_deleted_at__isnull=True
    ).select_related("enrolment__track")
    for submission in candidates:
        limit = submission.decided_at + timedelta(
            days=submission.enrolment.track.video_retention_days
        )
        if limit > now:
            continue
        delete_video_files(submission)
        submission.source_name = submission.playback_name = submission.poster_name = ""
        submission.files_deleted_at = now
        submission.save()
        audit.record("trainers.video.files_deleted", submission, note="retention period ended")
        purged += 1
    return purged


# --- review ------------------------------------------------------------------------------------


@transaction.atomic
def assign_reviewer(submission, reviewer, *, actor, due_at=None):
    if not is_certification_lead(actor):
        raise CertificationError("Only the certification lead can assign reviewers.")
    if not may_be_assigned_reviews(reviewer):
        raise CertificationError(f"{reviewer.display_name} does not have the reviewer role.")
    if reviewer.pk == submission.enrolment.candidate_id:
        raise CertificationError("A candidate cannot review their own video.")
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.status not in {VS.READY, VS.IN_REVIEW}:
        raise CertificationError("Only a processed video that is not yet decided can be assigned.")
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
        _email_after_commit(
            "reviewer_assigned",
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
        raise CertificationError("Only the assigned reviewers can comment on this video.")
    if submission.is_decided:
        raise CertificationError("This video has been decided; comments are closed.")
    body = (body or "").strip()
    if not body:
        raise CertificationError("Write a comment before saving it.")
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
        raise CertificationError("This video has already been decided.")
    if recommendation not in Review.Recommendation.values:
        raise CertificationError("Choose a recommendation.")
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
        raise CertificationError("Score every criterion: " + ", ".join(missing) + ".")
    if recommendation != Review.Recommendation.APPROVE and not guidance.strip():
        raise CertificationError("Tell the candidate what to change (guidance is required).")
    total, meets = evaluate_scores(rubric, chosen)
    review, _ = Review.objects.update_or_create(
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
        raise CertificationError("Only the certification lead can decide.")
    submission = VideoSubmission.objects.select_for_update().get(pk=submission.pk)
    if submission.status not in {VS.READY, VS.IN_REVIEW}:
        raise CertificationError("This video is not waiting for a decision.")
    if outcome not in Decision.Outcome.values:
        raise CertificationError("Choose approve, request resubmission or reject.")
    if outcome != Decision.Outcome.APPROVE and not guidance.strip():
        raise CertificationError("Give the candidate guidance with this decision.")
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
    _email_after_commit(
        "decision_made",
        submission.candidate.email,
        {
            "submission": submission,
            "outcome": submission.get_status_display(),
            "url": reverse("trainers:video", args=[submission.public_id]),
        },
    )
    return submission


# --- other evidence -----------------------------------------------------------------------------


@transaction.atomic
def submit_evidence(enrolment, requirement, *, actor, statement):
    if enrolment.candidate_id != actor.pk or requirement.kind != Requirement.Kind.EVIDENCE:
        raise CertificationError("You cannot submit evidence here.")
    statement = (statement or "").strip()
    if len(statement) < 50:
        raise CertificationError("Describe your evidence in at least 50 characters.")
    evidence = EvidenceSubmission.objects.create(
        enrolment=enrolment, requirement=requirement, statement=statement
    )
    audit.record("trainers.evidence.submitted", evidence, actor=actor)
    return evidence


@transaction.atomic
def review_evidence(evidence, *, actor, accept, feedback=""):
    if not is_certification_lead(actor):
        raise CertificationError("Only certification staff can review evidence.")
    if not accept and not feedback.strip():
        raise CertificationError("Tell the candidate what is missing.")
    before = evidence.status
    evidence.status = (
        EvidenceSubmission.Status.ACCEPTED if accept else EvidenceSubmission.Status.RETURNED
    )
    evidence.feedback = feedback.strip()
    evidence.reviewed_by = actor
    evidence.reviewed_at = timezone.now()
    evidence.save()
    audit.record(
        "trainers.evidence.reviewed",
        evidence,
        actor=actor,
        before={"status": before},
        after={"status": evidence.status},
    )
    return evidence


# --- knowledge assessment ------------------------------------------------------------------------


@transaction.atomic
def start_attempt(enrolment, requirement, *, actor):
    """Begin (or continue) an attempt; questions and choices in this candidate's own order."""
    if enrolment.candidate_id != actor.pk or requirement.kind != Requirement.Kind.ASSESSMENT:
        raise CertificationError("You cannot take this assessment.")
    bank = requirement.question_bank
    if bank is None or not bank.questions.exists():
        raise CertificationError("This assessment is not ready yet. Please check back later.")
    attempts = AssessmentAttempt.objects.select_for_update().filter(
        enrolment=enrolment, requirement=requirement
    )
    open_attempt = attempts.filter(status=AssessmentAttempt.Status.IN_PROGRESS).first()
    if open_attempt:
        return open_attempt
    if attempts.filter(status=AssessmentAttempt.Status.PASSED).exists():
        raise CertificationError("You have already passed this assessment.")
    if attempts.filter(status=AssessmentAttempt.Status.AWAITING_GRADING).exists():
        raise CertificationError("Your answers are waiting to be graded.")
    if attempts.count() >= bank.attempt_limit:
        raise CertificationError(
            f"You have used all {bank.attempt_limit} attempts. Contact the certification team."
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
        raise CertificationError("This is not your attempt.")
    if attempt.status != AssessmentAttempt.Status.IN_PROGRESS:
        raise CertificationError("This attempt has already been submitted.")
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
        raise CertificationError(f"Answer every question ({len(unanswered)} left unanswered).")
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
        raise CertificationError("Only certification staff can grade written answers.")
    if attempt.status != AssessmentAttempt.Status.AWAITING_GRADING:
        raise CertificationError("This attempt is not waiting for grading.")
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


# --- credentials and the directory ------------------------------------------------------------


def _add_months(moment, months):
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    month += 1
    import calendar

    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _credential_number(track):
    prefix = "".join(word[0] for word in track.name.split() if word[:1].isalpha()).upper()[:4]
    return f"{prefix or 'CT'}-{timezone.now():%Y}-{secrets.token_hex(3).upper()}"


@transaction.atomic
def issue_credential(enrolment, *, actor, renews=None):
    """Every requirement met and the lead confirms: the credential and its PDF."""
    from .credential_pdf import render_credential

    if not is_certification_lead(actor):
        raise CertificationError("Only the certification lead can issue a credential.")
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if renews is None:
        if not all_requirements_met(enrolment):
            raise CertificationError("Not every requirement of this track is met yet.")
        if enrolment.credentials.filter(status=Credential.Status.ACTIVE).exists():
            raise CertificationError("This candidate already holds this credential.")
    track = enrolment.track
    now = timezone.now()
    credential = Credential(
        enrolment=enrolment,
        number=_credential_number(track),
        holder_name=enrolment.candidate.legal_name or enrolment.candidate.email,
        title=track.credential_title,
        issued_at=now,
        expires_at=_add_months(now, track.credential_valid_months)
        if track.credential_valid_months
        else None,
        issued_by=actor,
        renews=renews,
    )
    credential.pdf_name, credential.pdf_sha256 = render_credential(credential)
    credential.save()
    if renews is not None:
        renews.status = Credential.Status.SUPERSEDED
        renews.save(update_fields=["status"])
    enrolment.status = Enrolment.Status.CERTIFIED
    enrolment.save(update_fields=["status"])
    DirectoryListing.objects.get_or_create(
        person=enrolment.candidate,
        defaults={"display_name": enrolment.candidate.display_name},
    )
    audit.record(
        "trainers.credential.renewed" if renews else "trainers.credential.issued",
        credential,
        actor=actor,
        after={"number": credential.number},
    )
    _email_after_commit(
        "credential_issued",
        enrolment.candidate.email,
        {"credential": credential, "url": reverse("trainers:dashboard")},
    )
    return credential


def renew_credential(credential, *, actor):
    if credential.status != Credential.Status.ACTIVE:
        raise CertificationError("Only an active credential can be renewed.")
    return issue_credential(credential.enrolment, actor=actor, renews=credential)


@transaction.atomic
def revoke_credential(credential, *, actor, reason):
    if not is_certification_lead(actor):
        raise CertificationError("Only the certification lead can revoke a credential.")
    if credential.status == Credential.Status.REVOKED:
        return credential
    credential.status = Credential.Status.REVOKED
    credential.save(update_fields=["status"])
    enrolment = credential.enrolment
    if not enrolment.credentials.filter(status=Credential.Status.ACTIVE).exists():
        enrolment.status = Enrolment.Status.ACTIVE
        enrolment.save(update_fields=["status"])
    audit.record("trainers.credential.revoked", credential, actor=actor, note=reason)
    return credential


@transaction.atomic
def update_listing(person, *, listed, display_name, place):
    if (
        listed
        and not Credential.objects.filter(
            enrolment__candidate=person, status=Credential.Status.ACTIVE
        ).exists()
    ):
        raise CertificationError("The directory lists certified trainers only.")
    listing, _ = DirectoryListing.objects.get_or_create(
        person=person, defaults={"display_name": person.display_name}
    )
    before = _snapshot(listing, "listed", "display_name", "place")
    listing.listed = bool(listed)
    listing.display_name = (display_name or "").strip()[:200] or person.display_name
    listing.place = (place or "").strip()[:200]
    listing.save()
    audit.record(
        "trainers.directory.updated",
        listing,
        actor=person,
        before=before,
        after=_snapshot(listing, "listed", "display_name", "place"),
    )
    return listing


def directory_entries(query=""):
    """Listed trainers with a current credential, searchable by name, place or credential."""
    from django.db.models import Q

    now = timezone.now()
    credentials = (
        Credential.objects.filter(
            status=Credential.Status.ACTIVE,
            enrolment__candidate__trainer_listing__listed=True,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("enrolment__candidate__trainer_listing", "enrolment__track")
        .order_by("enrolment__candidate__trainer_listing__display_name", "issued_at")
    )
    query = (query or "").strip()
    if query:
        credentials = credentials.filter(
            Q(enrolment__candidate__trainer_listing__display_name__icontains=query)
            | Q(enrolment__candidate__trainer_listing__place__icontains=query)
            | Q(title__icontains=query)
        )
    return credentials


def tracks_open_for(user):
    enrolled = Enrolment.objects.filter(candidate=user).values_list("track_id", flat=True)
    return Track.objects.filter(is_open=True).exclude(pk__in=list(enrolled))


@transaction.atomic
def terminate_upload(upload, *, actor):
    """tus termination: the partial bytes go; the submission can take a fresh upload."""
    discard_upload_files(upload)
    submission = upload.submission
    upload.delete()
    audit.record("trainers.upload.terminated", submission, actor=actor)
