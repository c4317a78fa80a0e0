"""One decision per review round: evidence is reviewed once, an attempt graded once, one round
open at a time, one active credential; the credential PDF is rendered before any lock."""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction

from certification.trainers import services
from certification.trainers.models import (
    AssessmentAttempt,
    Credential,
    EvidenceSubmission,
)
from certification.trainers.services import credentials as credential_services
from tests.accounts_support import acting_with_second_factor
from tests.trainers_support.builders import build_track, lead, meet_everything, person

pytestmark = pytest.mark.django_db


def stored_pdfs():
    root = Path(settings.STORAGES["private"]["OPTIONS"]["location"])
    return sorted(p.name for p in root.rglob("*.pdf"))


@pytest.fixture
def setup():
    track = build_track()
    candidate = person("cand@example.org", "Casey Candidate")
    boss = acting_with_second_factor(lead())
    enrolment, evidence = meet_everything(track, candidate, boss)
    return track, candidate, boss, enrolment, evidence


def test_evidence_is_decided_once(setup):
    _track, _candidate, boss, _enrolment, evidence = setup
    stale = EvidenceSubmission.objects.get(pk=evidence.pk)  # a second staff tab

    services.review_evidence(evidence, actor=boss, accept=True)
    with pytest.raises(services.CertificationError, match="already been reviewed"):
        services.review_evidence(stale, actor=boss, accept=False, feedback="Too short.")

    evidence.refresh_from_db()
    assert (evidence.status, evidence.feedback) == ("accepted", "")


def test_one_evidence_round_is_open_at_a_time(setup):
    track, candidate, boss, enrolment, evidence = setup
    requirement = track.requirements.get(kind="evidence")
    statement = "A second statement about leading FIT in the agency for a whole year."
    with pytest.raises(services.CertificationError, match="waiting for staff review"):
        services.submit_evidence(enrolment, requirement, actor=candidate, statement=statement)
    with pytest.raises(IntegrityError), transaction.atomic():
        EvidenceSubmission.objects.create(
            enrolment=enrolment, requirement=requirement, statement=statement
        )

    services.review_evidence(evidence, actor=boss, accept=False, feedback="Name the clinics.")
    again = services.submit_evidence(enrolment, requirement, actor=candidate, statement=statement)
    assert again.status == EvidenceSubmission.Status.SUBMITTED


def test_a_written_attempt_is_graded_once():
    track = build_track(written=True)
    candidate = person("writer@example.org")
    boss = acting_with_second_factor(lead())
    enrolment = services.enrol(track, candidate, actor=candidate)
    requirement = track.requirements.get(kind="assessment")
    attempt = services.start_attempt(enrolment, requirement, actor=candidate)
    answers = {str(q): "Outcome is tracked at every session." for q in attempt.question_order}
    services.submit_attempt(attempt, actor=candidate, answers=answers)
    stale = AssessmentAttempt.objects.get(pk=attempt.pk)

    services.grade_attempt(attempt, actor=boss, score_percent=90, feedback="Good.")
    with pytest.raises(services.CertificationError, match="not waiting for grading"):
        services.grade_attempt(stale, actor=boss, score_percent=10, feedback="Poor.")

    attempt.refresh_from_db()
    assert (attempt.status, attempt.score_percent) == ("passed", 90)
    # The database holds one open attempt per requirement.
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentAttempt.objects.create(
            enrolment=enrolment, requirement=requirement, bank=attempt.bank, number=7
        )
        AssessmentAttempt.objects.create(
            enrolment=enrolment, requirement=requirement, bank=attempt.bank, number=8
        )


def test_a_renewal_that_loses_to_a_revocation_leaves_no_file_and_one_active(setup, monkeypatch):
    _track, _candidate, boss, enrolment, evidence = setup
    services.review_evidence(evidence, actor=boss, accept=True)
    first = services.issue_credential(enrolment, actor=boss)
    render = credential_services.render_credential

    def render_while_revoked(credential):
        # Another staff member revokes while the renewal's PDF is being rendered.
        services.revoke_credential(first, actor=boss, reason="Issued in error")
        return render(credential)

    monkeypatch.setattr(credential_services, "render_credential", render_while_revoked)
    with pytest.raises(services.CertificationError, match="Only an active credential"):
        services.renew_credential(first, actor=boss)

    assert stored_pdfs() == [Path(first.pdf_name).name]
    assert list(Credential.objects.values_list("status", flat=True)) == ["revoked"]


def test_two_renewals_of_one_credential_leave_one_active(setup):
    _track, _candidate, boss, enrolment, evidence = setup
    services.review_evidence(evidence, actor=boss, accept=True)
    first = services.issue_credential(enrolment, actor=boss)
    stale = Credential.objects.get(pk=first.pk)  # the second click, still saying "active"

    renewed = services.renew_credential(first, actor=boss)
    with pytest.raises(services.CertificationError, match="Only an active credential"):
        services.issue_credential(enrolment, actor=boss, renews=stale)

    assert list(Credential.objects.filter(status="active")) == [renewed]
    assert len(stored_pdfs()) == 2
