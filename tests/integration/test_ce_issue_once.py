"""One current certificate per registration, whoever issues it and however often.

The database holds the invariant (a unique constraint on issued certificates); the issue
renders its PDF before locking, so a losing racer gets the winner's certificate back and its
own file is removed; the bulk job commits per attendee and resumes after an interruption.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from certification import services
from certification.factories import (
    ce_settings,
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import (
    Certificate,
    CertificateStatus,
    EvaluationResponse,
    License,
    RegistrationLicense,
)
from certification.services import issue_facts, issuing
from courses import attendance

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for a worker process killed mid-job: nothing in the job catches it."""


@pytest.fixture
def event():
    make_sponsor()
    event = make_event("Issue Once Workshop")
    make_offering(event, make_body("APA", minutes_per_credit=60))
    return event


def eligible(event, name, email=None):
    registration = make_registration(event, name=name, email=email)
    for session in event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return registration


def stored_pdfs():
    root = Path(settings.STORAGES["private"]["OPTIONS"]["location"])
    return sorted(p.name for p in root.rglob("*.pdf"))


def test_the_database_refuses_a_second_current_certificate(event):
    registration = eligible(event, "Constraint Carla")
    first = services.issue_certificate(registration, notify=False)
    second = Certificate(
        registration=registration,
        event=event,
        attendee_name=first.attendee_name,
        program_title=first.program_title,
        program_dates=first.program_dates,
        program_format=first.program_format,
        completed_on=first.completed_on,
        total_hours=first.total_hours,
        sponsor_name=first.sponsor_name,
        issue_date=first.issue_date,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    # Superseded and revoked ones may be many.
    second.status = CertificateStatus.SUPERSEDED
    second.save()
    assert registration.certificates.filter(status=CertificateStatus.ISSUED).count() == 1


def test_the_loser_of_a_race_gets_the_winners_certificate_and_leaves_no_file(
    event, monkeypatch, django_capture_on_commit_callbacks
):
    registration = eligible(event, "Racing Rosa", email="rosa@example.org")
    render = issuing.render_certificate
    winner = {}

    def render_while_another_issue_commits(certificate, **kwargs):
        # The other issue (say, auto-issue after the evaluation) renders and commits while
        # this one is still rendering, before it takes its lock.
        if not winner:
            winner["certificate"] = "pending"
            winner["certificate"] = services.issue_certificate(registration)
        return render(certificate, **kwargs)

    monkeypatch.setattr(issuing, "render_certificate", render_while_another_issue_commits)
    with django_capture_on_commit_callbacks(execute=True):
        got = services.issue_certificate(registration)

    assert got.pk == winner["certificate"].pk
    assert registration.certificates.count() == 1
    # The loser's PDF was deleted: only the winner's file is stored.
    assert stored_pdfs() == [Path(got.pdf_path).name]
    assert [m.to for m in mail.outbox] == [["rosa@example.org"]]


def test_an_issue_that_fails_after_rendering_leaves_no_file(event, monkeypatch):
    registration = eligible(event, "Failing Fay")

    def refuse(*args, **kwargs):
        raise services.CEError("the database said no")

    monkeypatch.setattr(issuing, "_save_issued", refuse)
    with pytest.raises(services.CEError):
        services.issue_certificate(registration, notify=False)
    assert stored_pdfs() == []
    assert registration.certificates.count() == 0


def test_a_reissue_of_a_certificate_revoked_meanwhile_is_refused_and_leaves_no_file(
    event, monkeypatch
):
    registration = eligible(event, "Revoked Rhea")
    certificate = services.issue_certificate(registration, notify=False)
    staff = make_user("ce-staff@example.org", "CE Staff")
    render = issuing.render_certificate

    def render_while_revoked(new, **kwargs):
        services.revoke_certificate(certificate, actor=staff, reason="Issued in error")
        return render(new, **kwargs)

    monkeypatch.setattr(issuing, "render_certificate", render_while_revoked)
    with pytest.raises(services.CEError, match="only a valid certificate can be reissued"):
        services.reissue_certificate(certificate, actor=staff, note="Name")
    assert stored_pdfs() == [Path(certificate.pdf_path).name]
    assert list(registration.certificates.values_list("status", flat=True)) == ["revoked"]


def test_an_interrupted_bulk_issue_resumes_and_issues_each_certificate_once(
    event, monkeypatch, django_capture_on_commit_callbacks
):
    ready = [eligible(event, f"Attendee {n:02d}", email=f"a{n}@example.org") for n in range(6)]
    short = make_registration(event, name="Short Stan")
    staff = make_user("bulk@example.org", "Bulk Admin")
    ids = [r.pk for r in ready] + [short.pk]
    issue = issuing.issue_certificate
    calls = []

    def dies_after_four(*args, **kwargs):
        if len(calls) == 4:
            raise WorkerKilled()
        calls.append(1)
        return issue(*args, **kwargs)

    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_issue_job(event, ids, actor=staff)
    monkeypatch.setattr(issuing, "issue_certificate", dies_after_four)
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        issuing.run_issue_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.issued) == ("running", 4, 4)
    assert len(mail.outbox) == 4

    # The worker is restarted and the message redelivered: the job resumes.
    monkeypatch.setattr(issuing, "issue_certificate", issue)
    with django_capture_on_commit_callbacks(execute=True):
        issuing.run_issue_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.issued) == ("finished", 7, 7, 6)
    assert len(job.problems) == 1 and "Short Stan" in job.problems[0]
    for registration in ready:
        assert registration.certificates.count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.attendee_email for r in ready)

    # Running a finished job again changes nothing.
    issuing.run_issue_job(job.pk)
    job.refresh_from_db()
    assert (job.done, job.issued, len(job.problems)) == (7, 6, 1)


def test_a_bulk_issue_killed_between_an_issue_and_its_progress_counts_it_once(
    event, monkeypatch, django_capture_on_commit_callbacks
):
    ready = [eligible(event, f"Person {n}") for n in range(3)]
    job = issuing.IssueJob.objects.create(
        event=event, registration_ids=[r.pk for r in ready], total=3
    )
    issue = issuing.issue_certificate
    calls = []

    def killed_after_committing_the_second(*args, **kwargs):
        certificate = issue(*args, **kwargs)
        calls.append(certificate)
        if len(calls) == 2:
            raise WorkerKilled()  # after the commit, before the progress
        return certificate

    monkeypatch.setattr(issuing, "issue_certificate", killed_after_committing_the_second)
    with pytest.raises(WorkerKilled):
        issuing.run_issue_job(job.pk)
    job.refresh_from_db()
    assert (job.done, job.issued) == (1, 1)

    monkeypatch.setattr(issuing, "issue_certificate", issue)
    issuing.run_issue_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.issued) == ("finished", 3, 3)
    assert Certificate.objects.filter(registration__in=ready).count() == 3


def test_an_auto_issue_that_cannot_issue_keeps_the_evaluation(event, monkeypatch):
    ce_settings(event, auto_issue_on_evaluation=True)
    user = make_user("eval@example.org", "Eval Eve")
    registration = make_registration(event, name="Eval Eve", user=user)
    for session in event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start - timedelta(minutes=1))

    def refuse(*args, **kwargs):
        raise services.NotEligible("changed meanwhile")

    monkeypatch.setattr("certification.services.evaluations.issue_certificate", refuse)
    response, certificate = services.submit_evaluation(registration, {}, actor=user)
    assert certificate is None
    assert EvaluationResponse.objects.filter(pk=response.pk).exists()


def test_a_bulk_issue_reads_the_program_once_and_prints_what_one_issue_prints(event):
    """The job reads the event's schedule and offerings once for all its attendees, not once
    per certificate, and each certificate carries the same facts as one issued alone."""
    alone = services.issue_certificate(eligible(event, "Alone Alma"), notify=False)
    attendees = [eligible(event, f"Bulk {n}", email=f"bulk{n}@example.org") for n in range(4)]
    staff = make_user("bulk-reader@example.org", "Bulk Reader")
    job = services.start_issue_job(event, [r.pk for r in attendees], actor=staff)

    with CaptureQueriesContext(connection) as queries:
        issuing.run_issue_job(job.pk)

    schedule_reads = [q for q in queries if 'FROM "courses_eventsession"' in q["sql"]]
    offering_reads = [q for q in queries if 'FROM "certification_ceoffering"' in q["sql"]]
    assert (len(schedule_reads), len(offering_reads)) == (1, 1)
    printed = ["program_title", "program_dates", "program_format", "credits", "presenters"]
    for registration in attendees:
        certificate = registration.certificates.get()
        assert [getattr(certificate, f) for f in printed] == [getattr(alone, f) for f in printed]
        assert certificate.attendee_name == registration.attendee_name
        assert certificate.completed_on == alone.completed_on


def test_a_bulk_issue_reads_its_attendees_a_few_at_a_time_each_with_their_own_facts(
    event, monkeypatch
):
    """The job reads its attendees' own facts (seat, attendance, licenses) a chunk at a time,
    and each certificate still prints its own attendee's facts: none is lent to a neighbour
    in the chunk, and an attendee who was not there or is not of this event is refused."""
    monkeypatch.setattr(issue_facts, "FACTS_CHUNK", 3)
    attendees = [eligible(event, f"Chunk {n}", email=f"chunk{n}@example.org") for n in range(5)]
    typed = make_registration(
        event,
        name="Typed Tia",
        email="typed@example.org",
        license_number="44-1234",
        license_jurisdiction="FL",
        profession="LCSW",
    )
    for session in event.sessions.order_by("start"):
        attendance.check_in(typed, session, at=session.start)
    EvaluationResponse.objects.create(registration=typed, event=event)
    absent = make_registration(event, name="Absent Abe", email="absent@example.org")
    EvaluationResponse.objects.create(registration=absent, event=event)
    elsewhere = make_registration(
        make_event("Another Workshop", slug="another-workshop"), name="Other Olga"
    )
    holder = make_user("licensed@example.org", "Licensed Lee")
    texas = License.objects.create(user=holder, profession="LPC", jurisdiction="TX", number="7")
    california = License.objects.create(
        user=holder, profession="LMFT", jurisdiction="CA", number="81"
    )
    RegistrationLicense.objects.create(registration=attendees[1], license=texas)
    RegistrationLicense.objects.create(registration=attendees[1], license=california)
    ids = [attendees[0].pk, attendees[1].pk, absent.pk, elsewhere.pk, typed.pk]
    ids += [a.pk for a in attendees[2:]]
    job = issuing.IssueJob.objects.create(event=event, registration_ids=ids, total=len(ids))

    with CaptureQueriesContext(connection) as queries:
        issuing.run_issue_job(job.pk)

    chunk_reads = [
        q for q in queries if 'FROM "courses_registration"' in q["sql"] and " IN (" in q["sql"]
    ]
    attendance_reads = [q for q in queries if 'FROM "courses_sessionattendance"' in q["sql"]]
    assert (len(chunk_reads), len(attendance_reads)) == (3, 3)  # 8 attendees, 3 at a time
    job.refresh_from_db()
    assert (job.status, job.done, job.issued) == ("finished", 8, 6)
    assert len(job.problems) == 2
    assert "Absent Abe" in job.problems[0]
    assert job.problems[1] == f"Registration {elsewhere.pk} is not part of this event."
    assert not absent.certificates.exists() and not elsewhere.certificates.exists()
    printed = {r.pk: (r, r.certificates.get()) for r in [*attendees, typed]}
    assert printed[attendees[1].pk][1].licenses == [
        {"profession": "LMFT", "jurisdiction": "CA", "number": "81"},
        {"profession": "LPC", "jurisdiction": "TX", "number": "7"},
    ]
    assert printed[typed.pk][1].licenses == [
        {"profession": "LCSW", "jurisdiction": "FL", "number": "44-1234"}
    ]
    for registration in [attendees[0], *attendees[2:]]:
        assert printed[registration.pk][1].licenses == []
    for registration, certificate in printed.values():
        assert certificate.attendee_name == registration.attendee_name
        assert certificate.credits == printed[attendees[0].pk][1].credits  # all attended fully
