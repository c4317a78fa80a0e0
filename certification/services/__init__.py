"""CE services: the one place that changes CE state; views, the admin, tasks and the demo call
these names, never the modules behind them.

- eligibility: where an attendee stands for a certificate, and why
- issuing: issue, reissue, revoke, reinstate (one at a time or as a bulk job) and the
  certificate's PDF
- evaluations: the post-event evaluation
- post_tests: the post-test of a home-study course (attempts, marking, feedback)
- licenses: the attendee's licenses and which ones a registration's CE is for
- reporting: CE Broker roster exports, recorded as batches of what was reported
- transcript_jobs: long transcripts, built by the worker and e-mailed when ready
"""

from .common import CEError, NotEligible, absolute_url
from .eligibility import (
    CE_FEE_UNPAID,
    ELIGIBLE,
    STATUS_LABELS,
    EligibilityStatus,
    asked_for_ce,
    eligibility,
    event_roster,
    with_eligibility_facts,
)
from .evaluations import evaluation_is_open, submit_evaluation
from .issuing import (
    CERTIFICATE_TEMPLATE,
    certificate_context,
    certificate_filename,
    certificate_pdf_bytes,
    event_with_issue_facts,
    issue_certificate,
    reinstate_registration,
    reissue_certificate,
    revoke_certificate,
    start_issue_job,
)
from .licenses import delete_license, save_license, set_registration_licenses
from .post_tests import (
    PostTestStanding,
    attempt_questions,
    pass_percent_for,
    passed_post_test_on,
    post_test_standing,
    start_post_test,
    submit_post_test,
    when_in_event_zone,
)
from .reporting import export_ce_broker_roster
from .transcript_jobs import (
    INLINE_LIMIT,
    build_transcript,
    built_by_worker,
    pending_transcript,
    request_transcript,
    transcript_filename,
    transcript_pdf_bytes,
)

__all__ = [
    "PostTestStanding",
    "attempt_questions",
    "pass_percent_for",
    "passed_post_test_on",
    "post_test_standing",
    "start_post_test",
    "submit_post_test",
    "when_in_event_zone",
    "INLINE_LIMIT",
    "build_transcript",
    "built_by_worker",
    "pending_transcript",
    "request_transcript",
    "transcript_filename",
    "transcript_pdf_bytes",
    "CERTIFICATE_TEMPLATE",
    "CE_FEE_UNPAID",
    "CEError",
    "ELIGIBLE",
    "STATUS_LABELS",
    "EligibilityStatus",
    "NotEligible",
    "absolute_url",
    "asked_for_ce",
    "certificate_context",
    "certificate_filename",
    "certificate_pdf_bytes",
    "delete_license",
    "eligibility",
    "export_ce_broker_roster",
    "evaluation_is_open",
    "event_roster",
    "event_with_issue_facts",
    "issue_certificate",
    "reinstate_registration",
    "reissue_certificate",
    "revoke_certificate",
    "save_license",
    "set_registration_licenses",
    "start_issue_job",
    "submit_evaluation",
    "with_eligibility_facts",
]
