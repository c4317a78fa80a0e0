"""Trainer certification services: every state change happens here, inside a transaction,
audited. Views, staff screens, the upload endpoints and Celery tasks call these names; they
never save models themselves.

- access: who may view, review, decide
- enrolment: candidates join tracks
- requirements: where a candidate stands; staff sign-offs and other evidence
- videos: versions, uploads, processing, withdrawal, retention
- reviews: reviewer assignment, rubric scores, comments, the lead's decision
- assessments: knowledge-assessment attempts and grading
- credentials: issue, renew, revoke
- directory: the public directory of certified trainers
"""

from .access import (
    can_review_submission,
    can_view_submission,
    is_certification_lead,
    is_reviewer,
)
from .assessments import grade_attempt, start_attempt, submit_attempt
from .common import CertificationError, UploadTooLarge
from .credentials import issue_credential, renew_credential, revoke_credential
from .directory import directory_entries, update_listing
from .enrolment import enrol, tracks_open_for
from .requirements import (
    all_requirements_met,
    requirement_states,
    review_evidence,
    sign_off_requirement,
    submit_evidence,
)
from .reviews import (
    add_comment,
    assign_reviewer,
    decide,
    evaluate_scores,
    review_summary,
    submit_review,
)
from .videos import (
    complete_upload,
    create_upload,
    mark_failed,
    mark_processed,
    may_upload_new_version,
    purge_expired_videos,
    safe_display_name,
    start_video_submission,
    submission_prefix,
    terminate_upload,
    withdraw_submission,
)

__all__ = [
    "CertificationError",
    "UploadTooLarge",
    "add_comment",
    "all_requirements_met",
    "assign_reviewer",
    "can_review_submission",
    "can_view_submission",
    "complete_upload",
    "create_upload",
    "decide",
    "directory_entries",
    "enrol",
    "evaluate_scores",
    "grade_attempt",
    "is_certification_lead",
    "is_reviewer",
    "issue_credential",
    "mark_failed",
    "mark_processed",
    "may_upload_new_version",
    "purge_expired_videos",
    "renew_credential",
    "requirement_states",
    "review_evidence",
    "review_summary",
    "revoke_credential",
    "safe_display_name",
    "sign_off_requirement",
    "start_attempt",
    "start_video_submission",
    "submission_prefix",
    "submit_attempt",
    "submit_evidence",
    "submit_review",
    "terminate_upload",
    "tracks_open_for",
    "update_listing",
    "withdraw_submission",
]
