"""Trainer certification: tracks and their requirements, candidates' enrolments, video
submissions with their review, knowledge assessments, credentials and the public directory."""

from .assessments import AssessmentAttempt, Choice, Question, QuestionBank
from .credentials import Credential, DirectoryListing
from .reviews import (
    Decision,
    Review,
    ReviewComment,
    ReviewerAssignment,
    ReviewScore,
    Rubric,
    RubricCriterion,
    RubricLevel,
)
from .submissions import EvidenceSubmission, VideoSubmission, VideoUpload
from .tracks import Enrolment, Requirement, RequirementSignOff, Track

__all__ = [
    "AssessmentAttempt",
    "Choice",
    "Credential",
    "Decision",
    "DirectoryListing",
    "Enrolment",
    "EvidenceSubmission",
    "Question",
    "QuestionBank",
    "Requirement",
    "RequirementSignOff",
    "Review",
    "ReviewComment",
    "ReviewScore",
    "ReviewerAssignment",
    "Rubric",
    "RubricCriterion",
    "RubricLevel",
    "Track",
    "VideoSubmission",
    "VideoUpload",
]
