"""Faults at the payments seam: a broker outage during a card payment, a wrong amount paid
before the right one, a webhook whose processing failed, and a reminder job run twice.

Each test asserts the end state in the database, at the fake Stripe and in the mail sent.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from cms.models import OutboxMessage, OutboxStatus
from cms.outbox import sweep
from courses.models import RegistrationStatus
from payments import services
from payments.models import (
    EventPaymentSettings,
    Order,
    Payment,
    PaymentAttempt,
    Refund,
    WebhookEvent,
)
from payments.services import stripe_events
from tests.fakestripe.helpers import (
    deliver_sent_events,
    hold_seats,
    post_webhook,
    running_fake_stripe,
)
from tests.fakestripe.server import StripeError

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


def card_order(**hold):
    order = services.order_for_booking(hold_seats(**hold))
    services.start_card_checkout(order, success_url="http://testserver/ok", cancel_url="http://x")
    order.refresh_from_db()
    return order


def receipts(order):
    return [m for m in mail.outbox if m.subject.startswith("Receipt") and m.to == [order.email]]


def confirmations(order):
    return [
        m
        for m in mail.outbox
        if order.event.title in m.subject and not m.subject.startswith(("Receipt", "Refund"))
    ]


def test_broker_down_during_a_card_webhook(
    client, fake_stripe, broker_down, broker_back, django_capture_on_commit_callbacks
):
    """The webhook answers 200 and keeps the event; the buyer's return page confirms the seat;
    the receipt and confirmation go out once, when the broker is back and the sweep runs."""
    order = card_order()
    session_id = order.stripe_checkout_session_id
    fake_stripe.complete_session(session_id)
    mail.outbox.clear()

    (response,) = deliver_sent_events(client, fake_stripe)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.processed_at is None
    assert OutboxMessage.objects.filter(
        key__startswith=f"payments:stripe-event:{stored.pk}:", status=OutboxStatus.PENDING
    ).exists()

    # The buyer is back from Stripe: the return page settles the payment in the web process.
    client.force_login(order.purchaser)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(
            reverse("payments:order_return", args=[order.public_id]),
            {"session_id": session_id},
        )
    assert page.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED
    payment = Payment.objects.get(order=order)
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.status, payment.attempt_id) == (PaymentAttempt.Status.PAID, attempt.pk)
    assert not mail.outbox  # the receipt and the confirmation wait for the broker

    # Stripe redelivers during the outage: still 200, and not forgotten as a duplicate.
    again = post_webhook(client, stored.payload, fake=fake_stripe)
    assert again.status_code == 200 and again.json()["duplicate"] is False

    with django_capture_on_commit_callbacks(execute=True):
        assert broker_back() >= 3  # the event's processing, the receipt, the confirmation
    with django_capture_on_commit_callbacks(execute=True):
        broker_back()  # a second sweep finds nothing more to send

    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.outcome == "order paid"
    assert Payment.objects.filter(order=order).count() == 1
    assert len(receipts(order)) == 1
    assert len(confirmations(order)) == 1
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()


def test_broker_down_and_the_buyer_gone_the_sweep_confirms_the_payment(
    client, fake_stripe, broker_down, broker_back, django_capture_on_commit_callbacks
):
    """Nobody comes back to the return page: the stored event is processed by the sweep once
    the broker is back, and the seat is confirmed."""
    order = card_order()
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    mail.outbox.clear()
    (response,) = deliver_sent_events(client, fake_stripe)
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        broker_back()

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED
    assert WebhookEvent.objects.get().processed_at is not None
    assert len(receipts(order)) == 1
    assert len(confirmations(order)) == 1


def test_a_wrong_amount_then_the_right_one_confirms_once_and_refunds_the_wrong_one(
    client, fake_stripe
):
    order = card_order()
    wrong_session = order.stripe_checkout_session_id
    fake_stripe.complete_session(wrong_session, amount=30000)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.booking.registrations.get().status == RegistrationStatus.HELD

    # The buyer pays again: a new session, for the order's total.
    services.start_card_checkout(order, success_url="http://testserver/ok", cancel_url="http://x")
    order.refresh_from_db()
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    mail.outbox.clear()
    deliver_sent_events(client, fake_stripe)
    deliver_sent_events(client, fake_stripe)  # the charge.refunded of the wrong payment

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED
    assert order.booking.paid_at is not None
    assert Payment.objects.filter(order=order).count() == 2
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.origin, refund.status) == (30000, "wrong_amount", "succeeded")
    wrong = PaymentAttempt.objects.get(stripe_checkout_session_id=wrong_session)
    assert wrong.status == PaymentAttempt.Status.REFUNDED and wrong.flagged_reason
    assert refund.payment.attempt == wrong
    charge = fake_stripe.charges[
        fake_stripe.payment_intents[wrong.stripe_payment_intent_id]["latest_charge"]
    ]
    assert charge["amount_refunded"] == 30000
    right = PaymentAttempt.objects.get(stripe_checkout_session_id=order.stripe_checkout_session_id)
    assert (right.status, right.flagged_reason) == (PaymentAttempt.Status.PAID, "")
    assert order.amount_paid - order.amount_refunded == order.total
    assert len(receipts(order)) == 1
    assert len(confirmations(order)) == 1


def test_paying_again_before_the_wrong_amount_webhook_opens_a_new_session(client, fake_stripe):
    order = card_order()
    wrong_session = order.stripe_checkout_session_id
    fake_stripe.complete_session(wrong_session, amount=30000)

    # The buyer is back on the payment page before Stripe's webhook arrives.
    url = services.start_card_checkout(
        order, success_url="http://testserver/ok", cancel_url="http://x"
    )

    order.refresh_from_db()
    right_session = order.stripe_checkout_session_id
    assert right_session and right_session != wrong_session
    assert url == fake_stripe.sessions[right_session]["url"]
    assert fake_stripe.sessions[right_session]["amount_total"] == order.total
    # Money was taken for the wrong amount: flagged for Finance, never counted as paying.
    assert PaymentAttempt.objects.get(stripe_checkout_session_id=wrong_session).flagged_reason
    assert order.status == Order.Status.PENDING
    # The late webhook for the wrong payment changes nothing more.
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    assert (order.status, order.stripe_checkout_session_id) == (Order.Status.PENDING, right_session)

    fake_stripe.complete_session(right_session)
    deliver_sent_events(client, fake_stripe)
    deliver_sent_events(client, fake_stripe)  # the refund of the wrong payment

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED
    wrong = PaymentAttempt.objects.get(stripe_checkout_session_id=wrong_session)
    assert wrong.status == PaymentAttempt.Status.REFUNDED
    assert order.amount_paid - order.amount_refunded == order.total
    assert len(confirmations(order)) == 1


def test_a_stored_webhook_whose_processing_failed_is_retried_and_processed_once(
    client, fake_stripe, monkeypatch
):
    """Stripe cannot be read while the event is processed (three failures: more than the
    SDK's own retries): the event stays stored and unprocessed, the outbox retries the task a
    minute later, and it is processed once."""
    order = card_order()
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    real_get_session = fake_stripe.get_session
    failures = []

    def unavailable_three_times(*args, **kwargs):
        if len(failures) < 3:
            failures.append(args)
            raise_api_error()
        return real_get_session(*args, **kwargs)

    monkeypatch.setattr(fake_stripe, "get_session", unavailable_three_times)
    monkeypatch.setattr("stripe._http_client.HTTPClient._sleep_time_seconds", lambda *a: 0)
    mail.outbox.clear()

    (response,) = deliver_sent_events(client, fake_stripe)

    assert response.status_code == 200
    assert len(failures) == 3
    stored = WebhookEvent.objects.get()
    assert stored.processed_at is None and stored.failures == 1
    assert "Stripe is having a moment" in stored.last_error
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING

    later = timezone.now() + timedelta(minutes=2)
    with time_machine.travel(later, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        sweep()
        sweep()

    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.failures == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.filter(order=order).count() == 1
    assert len(receipts(order)) == 1
    assert len(confirmations(order)) == 1


def test_processing_that_crashed_is_swept_later_and_a_stale_pass_changes_nothing(
    client, fake_stripe, monkeypatch
):
    order = card_order()
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    real_settle = stripe_events.settle_checkout_session

    def crashes_once(*args, **kwargs):
        monkeypatch.setattr(stripe_events, "settle_checkout_session", real_settle)
        raise RuntimeError("worker lost its database connection")

    monkeypatch.setattr(stripe_events, "settle_checkout_session", crashes_once)
    mail.outbox.clear()
    (response,) = deliver_sent_events(client, fake_stripe)
    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.processed_at is None and stored.failures == 1

    later = timezone.now() + timedelta(minutes=10)
    with time_machine.travel(later, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        sweep()
        services.process_stale_events()  # reconciliation's pass right after: nothing to do

    stored.refresh_from_db()
    assert stored.processed_at is not None
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.filter(order=order).count() == 1
    assert len(receipts(order)) == 1
    assert len(confirmations(order)) == 1


def test_two_runs_of_the_invoice_reminder_job_send_one_email_each(
    client, django_capture_on_commit_callbacks
):
    orders = []
    for _ in range(3):
        booking = hold_seats()
        EventPaymentSettings.objects.create(
            event=booking.event,
            invoice_payment_enabled=True,
            invoice_due_days=10,
            invoice_reminder_days_before_due=3,
        )
        with django_capture_on_commit_callbacks(execute=True):
            orders.append(
                services.choose_invoice_payment(
                    services.order_for_booking(booking),
                    po_number="PO-1",
                    billing_name="Agency",
                    billing_address="1 Road",
                )
            )
    mail.outbox.clear()
    later = timezone.now() + timedelta(days=8)

    with django_capture_on_commit_callbacks(execute=True):
        services.process_overdue_invoices(now=later)
    # The second beat process read the invoices before the first one marked them.
    Order.objects.update(invoice_reminder_sent_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.process_overdue_invoices(now=later)

    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert sorted(m.to[0] for m in reminders) == sorted(o.email for o in orders)


@pytest.mark.postgres
# Real transactions: two beat processes on two connections race for the same invoices.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_beat_processes_at_once_send_one_reminder_each():
    orders = []
    for _ in range(3):
        booking = hold_seats()
        EventPaymentSettings.objects.create(
            event=booking.event,
            invoice_payment_enabled=True,
            invoice_due_days=10,
            invoice_reminder_days_before_due=3,
        )
        orders.append(
            services.choose_invoice_payment(
                services.order_for_booking(booking),
                po_number="PO-1",
                billing_name="Agency",
                billing_address="1 Road",
            )
        )
    mail.outbox.clear()
    later = timezone.now() + timedelta(days=8)
    start = threading.Barrier(2)

    def beat():
        try:
            start.wait()
            return services.process_overdue_invoices(now=later)["reminded"]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        reminded = list(pool.map(lambda _: beat(), range(2)))

    assert sum(reminded) == 3
    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert sorted(m.to[0] for m in reminders) == sorted(o.email for o in orders)


def raise_api_error():
    raise StripeError(500, "Stripe is having a moment.", error_type="api_error")
