"""Where a candidate stands on each requirement of their track; staff sign-offs and evidence."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cms import audit
from cms.locking import lock_one
from courses.models import Registration, RegistrationStatus, SessionAttendance

from ..models import (
    AssessmentAttempt,
    Enrolment,
    EvidenceSubmission,
    Requirement,
    RequirementSignOff,
    VideoSubmission,
)
from .access import is_certification_lead
from .common import CertificationError

VS = VideoSubmission.Status


def attended_programme(user, programme):
    """Whether `user` attended (any session of) an event of `programme`.

    Read-only from the courses app's attendance records; a voided check-in does not count.
    """
    if programme is None:
        return False
    return SessionAttendance.objects.filter(
        registration__attendee=user,
        registration__event__programme=programme,
        voided_at__isnull=True,
    ).exists()


def upcoming_registration(user, programme):
    """The candidate's confirmed seat at an event of `programme` that has not ended yet
    (the soonest), or None: someone already booked is told to attend, not to register."""
    if programme is None:
        return None
    return (
        Registration.objects.select_related("event")
        .filter(
            attendee=user,
            event__programme=programme,
            event__ends_at__gte=timezone.now(),
            status=RegistrationStatus.CONFIRMED,
        )
        .order_by("event__starts_at")
        .first()
    )


@dataclass
class RequirementState:
    requirement: Requirement
    met: bool
    state: str
    next_step: str
    deadline: object = None
    overdue: bool = False
    items: list = field(default_factory=list)
    # Attendance: the event the candidate already holds a confirmed seat at.
    registered_event: object = None
    # Assessment: whether "Take the assessment" (or "Continue") leads anywhere now.
    can_attempt: bool = False
    attempt_in_progress: bool = False
    attempts_used_up: bool = False


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
                requirement, True, _("Met (confirmed by staff)"), "", items=state.items
            )
        state.deadline = deadline
        state.overdue = bool(deadline and not state.met and timezone.now() > deadline)
        states.append(state)
    return states


def _state_for(enrolment, requirement):
    kind = requirement.kind
    if kind == Requirement.Kind.ATTENDANCE:
        if attended_programme(enrolment.candidate, requirement.programme):
            return RequirementState(requirement, True, _("Attended"), "")
        registration = upcoming_registration(enrolment.candidate, requirement.programme)
        if registration is not None:
            event = registration.event
            # The day in the event's own time zone, as its page and the confirmation show it.
            day = date_format(event.local(event.starts_at), "j F Y")
            return RequirementState(
                requirement,
                False,
                _("Registered"),
                _("Registered for %(date)s; attend to complete.") % {"date": day},
                registered_event=event,
            )
        programme = requirement.programme.name if requirement.programme else _("qualifying")
        return RequirementState(
            requirement,
            False,
            _("Not yet attended"),
            _("Register for and attend a %(programme)s event.") % {"programme": programme},
        )
    if kind == Requirement.Kind.VIDEO:
        videos = list(enrolment.videos.filter(requirement=requirement).order_by("-version"))
        latest = videos[0] if videos else None
        if any(v.status == VS.APPROVED for v in videos):
            return RequirementState(requirement, True, _("Approved"), "", items=videos)
        if latest is None:
            return RequirementState(
                requirement, False, _("Not started"), _("Upload your demonstration video.")
            )
        steps = {
            VS.UPLOADING: _("Finish uploading your video."),
            VS.PROCESSING: _("We are preparing your video; we will email you when it is ready."),
            VS.FAILED: _("Upload the video again in a format we can read."),
            VS.READY: _("Your video is waiting for a reviewer."),
            VS.IN_REVIEW: _("Your video is being reviewed."),
            VS.RESUBMISSION_REQUESTED: _("Read the reviewers' guidance and upload a new version."),
            VS.REJECTED: _("Read the feedback; you may upload a new version."),
            VS.WITHDRAWN: _("Upload a new version when you are ready."),
        }
        return RequirementState(
            requirement, False, latest.get_status_display(), steps[latest.status], items=videos
        )
    if kind == Requirement.Kind.ASSESSMENT:
        attempts = list(enrolment.attempts.filter(requirement=requirement))
        if any(a.status == AssessmentAttempt.Status.PASSED for a in attempts):
            return RequirementState(requirement, True, _("Passed"), "", items=attempts)
        bank = requirement.question_bank
        used = len(attempts)
        if any(a.status == AssessmentAttempt.Status.IN_PROGRESS for a in attempts):
            return RequirementState(
                requirement,
                False,
                _("In progress"),
                _("Finish the attempt you started."),
                items=attempts,
                can_attempt=True,
                attempt_in_progress=True,
            )
        if any(a.status == AssessmentAttempt.Status.AWAITING_GRADING for a in attempts):
            return RequirementState(
                requirement,
                False,
                _("Waiting for grading"),
                _("Staff will grade your answers."),
                items=attempts,
            )
        if bank and used >= bank.attempt_limit:
            return RequirementState(
                requirement,
                False,
                _("No attempts left"),
                ngettext(
                    "You have used your %(limit)s attempt. Only the certification team can "
                    "allow another one; write to them if you want to try again.",
                    "You have used all %(limit)s attempts. Only the certification team can "
                    "allow another one; write to them if you want to try again.",
                    bank.attempt_limit,
                )
                % {"limit": bank.attempt_limit},
                items=attempts,
                attempts_used_up=True,
            )
        left = bank.attempt_limit - used if bank else 0
        return RequirementState(
            requirement,
            False,
            _("Not passed yet") if attempts else _("Not started"),
            ngettext(
                "Take the assessment (%(left)s attempt left).",
                "Take the assessment (%(left)s attempts left).",
                left,
            )
            % {"left": left},
            items=attempts,
            can_attempt=left > 0,
        )
    evidence = list(enrolment.evidence.filter(requirement=requirement))
    if any(e.status == EvidenceSubmission.Status.ACCEPTED for e in evidence):
        return RequirementState(requirement, True, _("Accepted"), "", items=evidence)
    if evidence and evidence[0].status == EvidenceSubmission.Status.SUBMITTED:
        return RequirementState(
            requirement,
            False,
            _("Waiting for staff review"),
            _("Staff will read it."),
            items=evidence,
        )
    return RequirementState(
        requirement,
        False,
        _("Returned with feedback") if evidence else _("Not started"),
        _("Submit your evidence."),
        items=evidence,
    )


def all_requirements_met(enrolment):
    return all(s.met for s in requirement_states(enrolment))


@transaction.atomic
def sign_off_requirement(enrolment, requirement, *, actor, note):
    if not is_certification_lead(actor):
        raise CertificationError(_("Only the certification lead can sign off a requirement."))
    sign_off, _created = RequirementSignOff.objects.update_or_create(
        enrolment=enrolment,
        requirement=requirement,
        defaults={"note": note, "signed_off_by": actor, "signed_off_at": timezone.now()},
    )
    audit.record("trainers.requirement.signed_off", enrolment, actor=actor, note=note)
    return sign_off


@transaction.atomic
def submit_evidence(enrolment, requirement, *, actor, statement):
    if enrolment.candidate_id != actor.pk or requirement.kind != Requirement.Kind.EVIDENCE:
        raise CertificationError(_("You cannot submit evidence here."))
    statement = (statement or "").strip()
    if len(statement) < 50:
        raise CertificationError(_("Describe your evidence in at least 50 characters."))
    # One review round open at a time (a database constraint): the staff decide on the
    # evidence in front of them, not on one that a second submission replaced meanwhile.
    lock_one(Enrolment, enrolment.pk)
    if EvidenceSubmission.objects.filter(
        enrolment=enrolment, requirement=requirement, status=EvidenceSubmission.Status.SUBMITTED
    ).exists():
        raise CertificationError(
            _("Your evidence is waiting for staff review. You can submit again if it is returned.")
        )
    evidence = EvidenceSubmission.objects.create(
        enrolment=enrolment, requirement=requirement, statement=statement
    )
    audit.record("trainers.evidence.submitted", evidence, actor=actor)
    return evidence


@transaction.atomic
def review_evidence(evidence, *, actor, accept, feedback=""):
    if not is_certification_lead(actor):
        raise CertificationError(_("Only certification staff can review evidence."))
    if not accept and not feedback.strip():
        raise CertificationError(_("Tell the candidate what is missing."))
    # One decision per round: whoever decides second finds it decided and changes nothing.
    evidence = lock_one(EvidenceSubmission, evidence.pk)
    if evidence.status != EvidenceSubmission.Status.SUBMITTED:
        raise CertificationError(
            _("This evidence has already been reviewed (%(status)s).")
            % {"status": evidence.get_status_display().lower()}
        )
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
