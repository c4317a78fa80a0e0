"""Stripe webhooks: verified, stored once, processed after re-reading Stripe, in any order."""

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.test import TestCase
from django.utils import timezone

from cms.models import AuditRecord
from cms.outbox import sweep
from courses import services as courses_services
from courses.factories import UserFactory
from courses.models import BookingStatus, RegistrationStatus
from payments import services
from payments.models import Order, Payment, PaymentAttempt, Refund, WebhookEvent
from payments.services import stripe_events
from tests.fakestripe.helpers import (
    deliver_sent_events,
    hold_seats,
    post_webhook,
    running_fake_stripe,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


def card_order(fake_stripe, **hold):
    booking = hold_seats(**hold)
    order = services.order_for_booking(booking)
    services.start_card_checkout(order, success_url="http://testserver/ok", cancel_url="http://x")
    order.refresh_from_db()
    return order


def confirmation_emails(order):
    return [
        m
        for m in mail.outbox
        if order.event.title in m.subject and not m.subject.startswith(("Receipt", "Refund of"))
    ]


def refund_notices():
    return [m for m in mail.outbox if m.subject.startswith("Refund of")]


def receipts():
    return [m for m in mail.outbox if m.subject.startswith("Receipt")]


# -- bad signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["no signature", "wrong secret", "stale timestamp", "tampered body"],
)
def test_unsigned_or_badly_signed_webhooks_are_refused_and_change_nothing(
    client, fake_stripe, case
):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    event = fake_stripe.sent_events[-1]
    if case == "no signature":
        response = post_webhook(client, event, header=False)
    elif case == "wrong secret":
        response = post_webhook(client, event, secret="whsec_someone_else")  # noqa: S106
    elif case == "stale timestamp":
        response = post_webhook(client, event, fake=fake_stripe, timestamp=int(time.time()) - 600)
    else:
        body = json.dumps(event)
        header = fake_stripe.sign(body)
        response = client.post(
            "/payments/stripe/webhook/",
            body.replace(order.stripe_checkout_session_id, "cs_test_other"),
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
        )

    assert response.status_code == 400
    assert WebhookEvent.objects.count() == 0
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not Payment.objects.exists()


# -- the happy path and its repeats -----------------------------------------------------------


def test_the_same_event_delivered_again_confirms_once_and_emails_once(client, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    event = fake_stripe.sent_events[-1]
    mail.outbox.clear()

    responses = [post_webhook(client, event, fake=fake_stripe) for _ in range(5)]

    assert [r.status_code for r in responses] == [200] * 5
    assert [r.json()["duplicate"] for r in responses] == [False, True, True, True, True]
    assert Payment.objects.filter(order=order).count() == 1
    assert WebhookEvent.objects.get().deliveries == 5
    assert len(receipts()) == 1
    assert len(confirmation_emails(order)) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED


def test_different_events_for_one_payment_confirm_once(client, fake_stripe):
    """Stripe may send `completed` and a retried copy with a new id; the payment is one row."""
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    fake_stripe.send_event(
        "checkout.session.completed", fake_stripe.get_session(order.stripe_checkout_session_id)
    )
    mail.outbox.clear()

    deliver_sent_events(client, fake_stripe)

    assert Payment.objects.filter(order=order).count() == 1
    assert len(receipts()) == 1


def test_a_redelivered_event_that_was_never_processed_is_processed_not_called_duplicate(
    client, fake_stripe, monkeypatch
):
    """Stored, but its processing failed: Stripe's next delivery (within minutes) is not
    answered "duplicate" and forgotten; the waiting promise is retried and processes it once."""
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    event = fake_stripe.sent_events.pop()
    real_settle = stripe_events.settle_checkout_session
    calls = []

    def fails_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("the database went away")
        return real_settle(*args, **kwargs)

    monkeypatch.setattr(stripe_events, "settle_checkout_session", fails_once)
    first = post_webhook(client, event, fake=fake_stripe)
    stored = WebhookEvent.objects.get()
    assert first.status_code == 200
    assert (stored.processed_at, stored.failures) == (None, 1)
    assert "the database went away" in stored.last_error

    again = post_webhook(client, event, fake=fake_stripe)
    assert again.status_code == 200 and again.json()["duplicate"] is False
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # the retry is the outbox's, a minute later

    with (
        time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        sweep()

    stored.refresh_from_db()
    assert stored.processed_at is not None and stored.deliveries == 2
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.filter(order=order).count() == 1
    assert len(receipts()) == 1
    assert post_webhook(client, event, fake=fake_stripe).json()["duplicate"] is True


def test_processing_an_event_again_changes_nothing(client, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    deliver_sent_events(client, fake_stripe)
    charge_id = Payment.objects.get(order=order).stripe_charge_id
    fake_stripe.create_dispute(charge_id)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    before = (order.status, order.attention_reason, order.paid_at)
    emails, audits = len(mail.outbox), AuditRecord.objects.count()

    # A worker that died after acting but before marking the events processed.
    WebhookEvent.objects.update(processed_at=None)
    with TestCase.captureOnCommitCallbacks(execute=True):
        for stored in WebhookEvent.objects.all():
            services.process_event(stored.pk)

    order.refresh_from_db()
    assert (order.status, order.attention_reason, order.paid_at) == before
    assert Payment.objects.filter(order=order).count() == 1
    assert PaymentAttempt.objects.get(order=order).status == "paid"
    assert len(mail.outbox) == emails
    assert AuditRecord.objects.count() == audits
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.postgres
# Real transactions: a hundred requests on the live server's threads race for the same rows.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_storm_of_100_concurrent_deliveries_confirms_exactly_once(live_server, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    body = json.dumps(fake_stripe.sent_events[-1]).encode()
    mail.outbox.clear()

    def deliver(_):
        request = urllib.request.Request(  # noqa: S310 - the test's own live server
            live_server.url + "/payments/stripe/webhook/",
            data=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": fake_stripe.sign(body.decode()),
            },
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(deliver, range(100)))

    assert statuses == [200] * 100
    assert Payment.objects.filter(order=order).count() == 1
    assert WebhookEvent.objects.get().deliveries == 100
    assert len(receipts()) == 1
    assert len(confirmation_emails(order)) == 1


def test_event_for_an_unknown_order_is_logged_and_answered_200(client, fake_stripe, caplog):
    session = fake_stripe.create_checkout_session(
        {
            "line_items": [
                {"price_data": {"currency": "usd", "unit_amount": "100"}, "quantity": "1"}
            ],
            "success_url": "http://elsewhere/ok",
            "metadata": {"order_id": "00000000-0000-0000-0000-000000000000"},
        }
    )
    fake_stripe.complete_session(session["id"])

    (response,) = deliver_sent_events(client, fake_stripe)

    assert response.status_code == 200
    record = WebhookEvent.objects.get()
    assert record.outcome == (
        f"Stripe sent an event for a Checkout Session we do not know: {session['id']}"
    )
    assert record.processed_at is not None
    assert "matches no order" in caplog.text


def test_event_types_the_site_does_not_handle_are_stored_and_ignored(client, fake_stripe):
    response = post_webhook(
        client, fake_stripe.build_event("customer.created", {"id": "cus_1"}), fake=fake_stripe
    )
    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome.startswith("ignored")


# -- amounts that do not match ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency"), [(100, None), (None, "eur")], ids=["amount", "currency"]
)
def test_a_payment_that_differs_from_the_order_is_flagged_not_confirmed(
    client, fake_stripe, amount, currency
):
    finance = UserFactory(email="finance@example.org")
    finance.groups.add(Group.objects.get(name="Finance"))
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id, amount=amount, currency=currency)
    mail.outbox.clear()

    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.needs_attention
    assert "were not confirmed" in order.attention_reason
    assert order.booking.registrations.get().status == RegistrationStatus.HELD
    alert = next(m for m in mail.outbox if "needs attention" in m.subject)
    assert alert.to == ["finance@example.org"]
    assert "Stripe took" in alert.body
    assert not receipts()


def test_a_wrong_amount_then_the_right_one_confirms_once_and_refunds_the_wrong_one(
    client, fake_stripe
):
    """A flagged payment never counts as the order's payment: the buyer's correct payment
    confirms the order (not "paid twice"), and the wrong one goes back."""
    order = card_order(fake_stripe)
    first_session = order.stripe_checkout_session_id
    fake_stripe.complete_session(first_session, amount=100)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING and order.needs_attention
    wrong = PaymentAttempt.objects.get(stripe_checkout_session_id=first_session)
    assert (wrong.status, wrong.amount_expected, wrong.amount_received) == ("paid", 45000, 100)
    assert "Stripe took" in wrong.flagged_reason
    mail.outbox.clear()

    # Paying again opens a new session for the right amount, and the buyer pays it.
    services.start_card_checkout(order, success_url="http://testserver/ok", cancel_url="http://x")
    order.refresh_from_db()
    assert order.stripe_checkout_session_id not in ("", first_session)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    deliver_sent_events(client, fake_stripe)
    deliver_sent_events(client, fake_stripe)  # the charge.refunded that followed

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED
    order.booking.refresh_from_db()
    assert order.booking.paid_at is not None
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.origin, refund.status) == (100, "wrong_amount", "succeeded")
    assert refund.payment.attempt == wrong
    right = PaymentAttempt.objects.get(stripe_checkout_session_id=order.stripe_checkout_session_id)
    assert (right.status, right.amount_received, right.flagged_reason) == ("paid", 45000, "")
    wrong.refresh_from_db()
    assert wrong.status == "refunded"
    assert not any("Paid twice" in line for line in order.attention_reason.splitlines())
    assert len(receipts()) == 1
    assert len(confirmation_emails(order)) == 1
    # The buyer is told about the $1.00 given back, with its credit note.
    (notice,) = refund_notices()
    assert notice.subject.startswith("Refund of $1.00") and notice.attachments
    assert (
        fake_stripe.charges[
            fake_stripe.payment_intents[order.stripe_payment_intent_id]["latest_charge"]
        ]["amount_refunded"]
        == 0
    )


def test_each_checkout_session_is_an_attempt_row(client, fake_stripe):
    order = card_order(fake_stripe)
    attempt = PaymentAttempt.objects.get(order=order)
    assert (attempt.status, attempt.amount_expected, attempt.currency) == ("created", 45000, "USD")
    assert attempt.stripe_checkout_session_id == order.stripe_checkout_session_id

    fake_stripe.complete_session(order.stripe_checkout_session_id)
    deliver_sent_events(client, fake_stripe)

    attempt.refresh_from_db()
    payment = Payment.objects.get(order=order)
    assert (attempt.status, attempt.amount_received, attempt.flagged_reason) == ("paid", 45000, "")
    assert payment.attempt == attempt
    assert attempt.stripe_payment_intent_id == payment.stripe_payment_intent_id


# -- asynchronous payment methods -------------------------------------------------------------


def test_delayed_payment_confirms_when_it_succeeds(client, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id, async_payment=True)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert client.get(f"/payments/orders/{order.public_id}/").status_code == 302  # login

    fake_stripe.settle_async_payment(order.stripe_checkout_session_id, succeeded=True)
    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED


def test_delayed_payment_that_fails_releases_the_seats_and_tells_the_buyer(client, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id, async_payment=True)
    fake_stripe.settle_async_payment(order.stripe_checkout_session_id, succeeded=False)
    mail.outbox.clear()

    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.booking.registrations.get().status == RegistrationStatus.CANCELLED
    message = next(m for m in mail.outbox if "did not go through" in m.subject)
    assert message.to == [order.email]
    assert PaymentAttempt.objects.get(order=order).status == "failed"


# -- expiry, order of arrival, late payments --------------------------------------------------


def test_expired_session_expires_the_order_and_releases_the_seats(client, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.expire_session(order.stripe_checkout_session_id)

    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    order.booking.refresh_from_db()
    assert order.booking.status == BookingStatus.EXPIRED
    assert order.booking.registrations.get().status == RegistrationStatus.EXPIRED
    order.event.refresh_from_db()
    assert order.event.seats_left == order.event.capacity
    assert PaymentAttempt.objects.get(order=order).status == "expired"


def test_a_stale_expired_event_cannot_undo_a_payment(client, fake_stripe):
    """Events arrive out of order: the handler trusts Stripe's current session, not the event."""
    order = card_order(fake_stripe)
    stale = fake_stripe.build_event(
        "checkout.session.expired",
        {**fake_stripe.get_session(order.stripe_checkout_session_id), "status": "expired"},
    )
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    completed = fake_stripe.sent_events.pop()

    post_webhook(client, stale, fake=fake_stripe)
    post_webhook(client, completed, fake=fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_late_payment_is_confirmed_when_a_seat_is_still_free(client, fake_stripe):
    order = card_order(fake_stripe, capacity=2)
    courses_services.release_registrations(
        order.booking, outcome=courses_services.ReleaseOutcome.EXPIRED, reason="expired"
    )
    fake_stripe.complete_session(order.stripe_checkout_session_id)

    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED


def test_late_payment_after_the_seat_went_to_someone_else_is_refunded(client, fake_stripe):
    finance = UserFactory(email="money@example.org")
    finance.groups.add(Group.objects.get(name="Finance"))
    order = card_order(fake_stripe, capacity=1)
    courses_services.release_registrations(
        order.booking, outcome=courses_services.ReleaseOutcome.EXPIRED, reason="expired"
    )
    hold_seats(event=order.event)  # someone else takes the only seat
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    mail.outbox.clear()

    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.status, refund.origin) == (45000, "succeeded", "no_seat")
    assert fake_stripe.refunds[refund.stripe_refund_id]["amount"] == 45000
    attendee_mail = next(m for m in mail.outbox if m.to == [order.email])
    assert "has been refunded" in attendee_mail.subject
    assert "$450.00" in attendee_mail.body
    staff_mail = next(m for m in mail.outbox if m.to == ["money@example.org"])
    assert "Automatic refund" in staff_mail.subject
    # The charge.refunded webhook that follows changes nothing more.
    deliver_sent_events(client, fake_stripe)
    assert Refund.objects.filter(order=order).count() == 1


# -- refunds and disputes made at Stripe ------------------------------------------------------


def test_refund_made_in_the_stripe_dashboard_is_mirrored(client, fake_stripe):
    order = card_order(fake_stripe, seats=2)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()

    fake_stripe.create_refund({"payment_intent": order.stripe_payment_intent_id, "amount": "10000"})
    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.origin, refund.status) == (10000, "stripe", "succeeded")
    assert order.booking.registrations.filter(status=RegistrationStatus.CONFIRMED).count() == 2


def test_dispute_flags_the_order_for_staff(client, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    charge_id = Payment.objects.get(order=order).stripe_charge_id

    fake_stripe.create_dispute(charge_id)
    deliver_sent_events(client, fake_stripe)

    order.refresh_from_db()
    assert order.needs_attention
    assert "disputed" in order.attention_reason
    assert WebhookEvent.objects.get(type="charge.dispute.created").order == order


# -- reconciliation ---------------------------------------------------------------------------


def test_reconciliation_settles_a_payment_whose_webhook_never_came(fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    fake_stripe.sent_events.clear()  # the webhook is lost
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    out = StringIO()
    call_command("reconcile_stripe", stdout=out)

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert "1 settled as paid" in out.getvalue()
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED


def test_reconciliation_expires_the_session_of_a_lapsed_hold(fake_stripe):
    order = card_order(fake_stripe)
    order.booking.expires_at = timezone.now() - timedelta(minutes=1)
    order.booking.save()

    result = services.reconcile_with_stripe()

    assert result["expired"] == 1
    assert fake_stripe.sessions[order.stripe_checkout_session_id]["status"] == "expired"
    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED
    assert PaymentAttempt.objects.get(order=order).status == "expired"


def test_reconciliation_processes_a_stored_event_whose_task_never_ran(client, fake_stripe):
    order = card_order(fake_stripe)
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    event = fake_stripe.sent_events[-1]
    # Stored, but the worker died before processing it.
    event_pk, _ = services.store_event(event["id"], event["type"], event)
    WebhookEvent.objects.filter(pk=event_pk).update(
        received_at=timezone.now() - timedelta(minutes=30)
    )

    out = StringIO()
    call_command("reconcile_stripe", stdout=out)

    assert "Processed 1 stored webhook event" in out.getvalue()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert WebhookEvent.objects.get(pk=event_pk).processed_at is not None


def test_a_second_payment_for_a_paid_order_is_refunded_automatically(client, fake_stripe):
    order = card_order(fake_stripe)
    # A second Checkout Session for the same order (another tab), also paid.
    second = fake_stripe.create_checkout_session(
        {
            "line_items": [
                {"price_data": {"currency": "usd", "unit_amount": "45000"}, "quantity": "1"}
            ],
            "success_url": "http://testserver/ok",
            "metadata": {"order_id": str(order.public_id)},
        }
    )
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    fake_stripe.complete_session(second["id"])
    mail.outbox.clear()

    deliver_sent_events(client, fake_stripe)
    deliver_sent_events(client, fake_stripe)  # the charge.refunded that followed

    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.needs_attention and "Paid twice" in order.attention_reason
    assert Payment.objects.filter(order=order).count() == 2
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.origin, refund.status) == (45000, "duplicate", "succeeded")
    second_intent = fake_stripe.sessions[second["id"]]["payment_intent"]
    assert refund.payment.stripe_payment_intent_id == second_intent
    assert len(receipts()) == 1
    assert order.booking.registrations.get().status == RegistrationStatus.CONFIRMED
