"""CE certificates under faults: racing issues, a worker killed mid bulk-issue, the broker down.

The end state is checked in the database (one current certificate per registration, the job's
counts), in private storage (no PDF left behind by a losing issue) and in the emails sent.
"""

import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection

from certification import services
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import Certificate, CertificateStatus, EvaluationResponse, IssueJob
from certification.services import issuing
from cms.models import OutboxMessage
from courses import attendance


class WorkerKilled(BaseException):
    """Stands for a worker process killed mid-job: nothing in the job catches it."""


def ce_event():
    make_sponsor()
    event = make_event("Fault Workshop")
    make_offering(event, make_body("APA", minutes_per_credit=60))
    return event


def eligible(event, count):
    registrations = []
    for n in range(count):
        registration = make_registration(
            event, name=f"Attendee {n:02d}", email=f"attendee{n}@example.org"
        )
        for session in event.sessions.order_by("start"):
            attendance.check_in(registration, session, at=session.start)
        EvaluationResponse.objects.create(registration=registration, event=event)
        registrations.append(registration)
    return registrations


def stored_pdfs():
    root = Path(settings.STORAGES["private"]["OPTIONS"]["location"])
    return sorted(p.name for p in root.rglob("*.pdf"))


def new_job(event, registrations, staff):
    return IssueJob.objects.create(
        event=event,
        requested_by=staff,
        registration_ids=[r.pk for r in registrations],
        total=len(registrations),
    )


def run_together(*targets):
    """Run each target on its own thread (its own database connection), started together."""
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait()
            target()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


@pytest.fixture
def slow_render(monkeypatch):
    """Rendering takes a moment, so racing issues overlap between render and save."""
    render = issuing.render_certificate

    def slow(certificate, **kwargs):
        time.sleep(0.05)
        return render(certificate, **kwargs)

    monkeypatch.setattr(issuing, "render_certificate", slow)


def assert_one_current_each(registrations):
    for registration in registrations:
        assert registration.certificates.count() == 1
        assert registration.certificates.get().status == CertificateStatus.ISSUED
    # Every losing issue deleted the PDF it rendered.
    assert stored_pdfs() == sorted(
        Path(path).name for path in Certificate.objects.values_list("pdf_path", flat=True)
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_auto_issue_racing_a_bulk_issue_gives_one_certificate(slow_render):
    event = ce_event()
    registrations = eligible(event, 4)
    staff = make_user("ce@example.org", "CE Admin")
    job = new_job(event, registrations, staff)

    def auto_issue_each():
        # What the evaluation's auto-issue does, for each attendee, while the job runs.
        for registration in registrations:
            services.issue_certificate(registration)

    run_together(lambda: issuing.run_issue_job(job.pk), auto_issue_each)

    assert_one_current_each(registrations)
    job.refresh_from_db()
    by_job = Certificate.objects.filter(issue_job=job).count()
    assert (job.status, job.done, job.issued, job.problems) == ("finished", 4, by_job, [])
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.attendee_email for r in registrations)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_issue_that_meets_the_constraint_returns_the_winner_and_leaves_no_file(monkeypatch):
    # The lock did not keep a racing issue out (a database without row locks): the winner's
    # certificate committed after this issue checked. The constraint refuses the second one;
    # the loser's transaction rolls back whole, its file is deleted, and it returns the winner.
    event = ce_event()
    (registration,) = eligible(event, 1)
    render = issuing.render_certificate
    winner = {}

    def render_while_another_issue_commits(certificate, **kwargs):
        data = render(certificate, **kwargs)
        if not winner:
            winner["certificate"] = None  # the winner renders as it always does
            winner["certificate"] = services.issue_certificate(registration)
            # What this issue's check under the lock would have seen before the winner.
            monkeypatch.setattr(issuing, "current_certificate", lambda _registration: None)
        return data

    monkeypatch.setattr(issuing, "render_certificate", render_while_another_issue_commits)

    returned = services.issue_certificate(registration)

    assert returned.pk == winner["certificate"].pk
    assert_one_current_each([registration])
    assert OutboxMessage.objects.count() == 1  # the winner's email, not the loser's
    # The connection is usable after the refused insert.
    assert Certificate.objects.filter(registration=registration).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overlapping_bulk_issues_give_one_certificate_each(slow_render):
    event = ce_event()
    registrations = eligible(event, 5)
    staff = make_user("ce@example.org", "CE Admin")
    first, second = new_job(event, registrations, staff), new_job(event, registrations, staff)

    run_together(lambda: issuing.run_issue_job(first.pk), lambda: issuing.run_issue_job(second.pk))

    assert_one_current_each(registrations)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("finished", "finished")
    assert (first.done, second.done) == (5, 5)
    assert first.issued + second.issued == 5
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_a_bulk_issue_killed_mid_way_then_rerun_issues_each_once(
    monkeypatch, django_capture_on_commit_callbacks
):
    event = ce_event()
    registrations = eligible(event, 6)
    short = make_registration(event, name="Short Sam")  # attended nothing
    staff = make_user("ce@example.org", "CE Admin")
    with django_capture_on_commit_callbacks(execute=False):
        job = services.start_issue_job(event, [r.pk for r in registrations + [short]], actor=staff)
    issue = issuing.issue_certificate
    calls = []

    def killed_after_three(*args, **kwargs):
        if len(calls) == 3:
            raise WorkerKilled()
        calls.append(1)
        return issue(*args, **kwargs)

    monkeypatch.setattr(issuing, "issue_certificate", killed_after_three)
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        issuing.run_issue_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.issued) == ("running", 3, 3)

    # The worker restarts; the message is redelivered (acks_late, reject_on_worker_lost).
    monkeypatch.setattr(issuing, "issue_certificate", issue)
    with django_capture_on_commit_callbacks(execute=True):
        issuing.run_issue_job(job.pk)
        issuing.run_issue_job(job.pk)  # and once more, by mistake

    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.issued) == ("finished", 7, 7, 6)
    assert len(job.problems) == 1 and "Short Sam" in job.problems[0]
    assert_one_current_each(registrations)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.attendee_email for r in registrations)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_broker_down_during_a_bulk_issue_commits_the_certificates_and_emails_later(
    broker_down, broker_back
):
    event = ce_event()
    registrations = eligible(event, 3)
    staff = make_user("ce@example.org", "CE Admin")

    # Queueing the job: the outbox row is written; handing it to the broker fails, quietly.
    job = services.start_issue_job(event, [r.pk for r in registrations], actor=staff)
    job.refresh_from_db()
    assert job.status == "queued"

    # A worker that already had the job runs it while the broker is unreachable.
    issuing.run_issue_job(job.pk)

    job.refresh_from_db()
    assert (job.status, job.done, job.issued) == ("finished", 3, 3)
    assert_one_current_each(registrations)
    assert mail.outbox == []
    assert OutboxMessage.objects.filter(status="pending").count() == 1 + 3

    broker_back()  # the job's own row runs again: a finished job does nothing
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.attendee_email for r in registrations)
    broker_back()
    assert len(mail.outbox) == 3
    assert Certificate.objects.count() == 3
