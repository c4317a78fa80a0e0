"""CE approvals and credit rules, licenses, evaluations and certificates."""

from .approvals import AccreditingBody, CEOffering, CESponsor, CreditBasis, EventCESettings
from .certificates import Certificate, CertificateStatus, IssueJob, IssueJobStatus
from .evaluations import (
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    QuestionKind,
)
from .licenses import License, RegistrationLicense
from .posttests import PostTestAttempt
from .reporting import CEBrokerBatch, CEBrokerReportedRow
from .transcripts import TranscriptJob, TranscriptStatus

__all__ = [
    "AccreditingBody",
    "CEBrokerBatch",
    "CEBrokerReportedRow",
    "CEOffering",
    "CESponsor",
    "Certificate",
    "CertificateStatus",
    "CreditBasis",
    "EvaluationAnswer",
    "EvaluationQuestion",
    "EvaluationResponse",
    "EventCESettings",
    "IssueJob",
    "IssueJobStatus",
    "License",
    "PostTestAttempt",
    "QuestionKind",
    "RegistrationLicense",
    "TranscriptJob",
    "TranscriptStatus",
]
