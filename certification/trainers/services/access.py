"""Who may do what in trainer certification (cms.access holds the permissions and guard)."""

from cms.access import Perm, can, holds, may_act_for_others


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
