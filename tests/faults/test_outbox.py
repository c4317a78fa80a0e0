"""The outbox under faults: a broker outage or a failing mail server delays a message, never
fails or rolls back the change it reports; a rolled-back change sends nothing; nothing is
sent twice."""

import threading
from datetime import timedelta

import pytest
import time_machine
from celery import shared_task
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from cms.email import send_templated_email
from cms.models import OutboxKind, OutboxMessage, OutboxStatus
from cms.outbox import enqueue, sweep
from courses import services
from courses.factories import UserFactory, make_event
from courses.models import BookingStatus, RegistrationStatus

RAN = []


@shared_task(name="tests.faults.record_run")
def record_run(value):
    RAN.append(value)


@pytest.fixture(autouse=True)
def _no_runs_yet():
    RAN.clear()


class FlakyMailServer(LocmemBackend):
    """The real delivery backend in tests, refusing the first `failures` messages."""

    failures = 0

    def send_messages(self, messages):
        if FlakyMailServer.failures:
            FlakyMailServer.failures -= 1
            raise ConnectionRefusedError("SMTP server not answering")
        return super().send_messages(messages)


def _note(to="ada@example.org", key=None, body="Your seat is confirmed."):
    return send_templated_email(
        "courses/email/registrant_message",
        to,
        {"name": "Ada", "body": body, "event": {"title": "Workshop"}, "event_url": "/"},
        subject="A note about your workshop",
        key=key,
    )


def _free_hold(buyer):
    event = make_event(title="Free workshop", price=0)
    return services.place_hold(
        event=event,
        purchaser=buyer,
        tickets={event.ticket_types.get().pk: 1},
        attendees=[{"attendee_name": "Ada Lovelace", "attendee_email": buyer.email}],
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_broker_down_during_a_free_confirmation_delays_the_email(broker_down, broker_back):
    buyer = UserFactory(email="ada@example.org", legal_name="Ada Lovelace")
    booking = _free_hold(buyer)

    services.confirm_registrations(booking, actor=buyer)  # commits; the dispatch fails

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.registrations.get().status == RegistrationStatus.CONFIRMED
    assert mail.outbox == []
    pending = OutboxMessage.objects.get()
    assert (pending.kind, pending.status) == (OutboxKind.EMAIL, OutboxStatus.PENDING)
    assert pending.payload["to"] == ["ada@example.org"]

    assert broker_back() == 1
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT

    assert broker_back() == 0
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_broker_down_the_confirm_page_still_confirms(client, broker_down, broker_back):
    buyer = UserFactory(email="ada@example.org", legal_name="Ada Lovelace")
    booking = _free_hold(buyer)
    client.force_login(buyer)

    response = client.post(reverse("courses:confirm_booking", args=[booking.public_id]))

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert mail.outbox == []
    broker_back()
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]


@pytest.mark.django_db
def test_a_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks, broker_back):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _note()
        enqueue(record_run, "rolled back")
        raise RuntimeError("the change failed after the email was written")

    assert OutboxMessage.objects.count() == 0
    assert broker_back() == 0
    assert mail.outbox == []
    assert RAN == []


@pytest.mark.django_db
def test_a_failed_send_is_retried_later_and_sent_once(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_DELIVERY_BACKEND = "tests.faults.test_outbox.FlakyMailServer"
    FlakyMailServer.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        _note()

    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 1)
    assert "SMTP server not answering" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert mail.outbox == []
    assert sweep() == 0  # not due yet

    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert sweep() == 1
        assert sweep() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 2, "")
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_send_that_keeps_failing_is_marked_failed_and_reported(
    client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_DELIVERY_BACKEND = "tests.faults.test_outbox.FlakyMailServer"
    settings.OUTBOX_MAX_ATTEMPTS = 2
    FlakyMailServer.failures = 5
    with django_capture_on_commit_callbacks(execute=True):
        _note()
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert sweep() == 1
    with time_machine.travel(timezone.now() + timedelta(hours=3)):
        assert sweep() == 0

    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 2)
    assert mail.outbox == []
    health = client.get("/healthz").json()
    assert health["status"] == "degraded"
    assert (health["outbox"]["failed"], health["outbox"]["overdue"]) == (1, 0)


@pytest.mark.django_db
def test_two_emails_with_one_key_send_one(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _note(key="reminder:42:2026-12-01", body="First run of the job")
    with django_capture_on_commit_callbacks(execute=True):
        _note(key="reminder:42:2026-12-01", body="Second run of the job")

    assert OutboxMessage.objects.count() == 1
    assert len(mail.outbox) == 1
    assert "First run" in mail.outbox[0].body


@pytest.mark.django_db
def test_a_task_queued_while_the_broker_is_down_runs_once_it_is_back(
    broker_down, broker_back, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(record_run, "invoice 7", key="invoice:7")
        enqueue(record_run, "invoice 7", key="invoice:7")

    assert RAN == []
    row = OutboxMessage.objects.get()
    assert (row.kind, row.name, row.status) == (
        OutboxKind.TASK,
        "tests.faults.record_run",
        "pending",
    )
    assert broker_back() == 1
    assert broker_back() == 0
    assert RAN == ["invoice 7"]


@pytest.mark.django_db
def test_a_worker_that_died_mid_send_is_reclaimed(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        _note()
    row = OutboxMessage.objects.get()
    # What a worker killed after claiming the row leaves behind.
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxStatus.IN_PROGRESS, claimed_at=timezone.now(), attempts=1
    )
    assert sweep() == 0  # still within its claim: maybe still sending
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_RECLAIM_AFTER + 60)
    with time_machine.travel(later):
        assert sweep() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_overlapping_job_runs_with_one_key_send_one_email():
    """Two beat processes run the same reminder job at once: the second insert of the key
    waits for the first transaction, then writes nothing."""
    first_written, first_may_commit = threading.Event(), threading.Event()
    results = {}

    def run(name, before_commit=None):
        try:
            with transaction.atomic():
                results[name] = _note(key="reminder:42:2026-12-01", body=f"{name} run")
                if before_commit:
                    before_commit()
        finally:
            connection.close()

    first = threading.Thread(
        target=run,
        args=("first", lambda: (first_written.set(), first_may_commit.wait(10))),
    )
    first.start()
    assert first_written.wait(10)
    second = threading.Thread(target=run, args=("second",))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting on the first transaction's key
    first_may_commit.set()
    first.join(10)
    second.join(10)

    assert OutboxMessage.objects.count() == 1
    assert len(mail.outbox) == 1
    assert "first run" in mail.outbox[0].body
