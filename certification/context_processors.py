"""Certificate, CE eligibility and trainer-certification status enums for templates, so pages
compare with names (`certificate.status == CertificateStatus.ISSUED`), never with raw strings."""

from certification.models import CertificateStatus
from certification.services import EligibilityStatus
from certification.trainers.models import (
    AssessmentAttempt,
    Credential,
    Enrolment,
    EvidenceSubmission,
    Question,
    Requirement,
    VideoSubmission,
)


def statuses(request):
    return {
        "CertificateStatus": CertificateStatus,
        "EligibilityStatus": EligibilityStatus,
        "AttemptStatus": AssessmentAttempt.Status,
        "CredentialStatus": Credential.Status,
        "EnrolmentStatus": Enrolment.Status,
        "EvidenceStatus": EvidenceSubmission.Status,
        "VideoStatus": VideoSubmission.Status,
        "QuestionKind": Question.Kind,
        "RequirementKind": Requirement.Kind,
    }
