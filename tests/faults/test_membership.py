"""Faults at the membership seam: "webhooks in any order, twice, or during a broker outage
leave one correct membership".

A broker outage while Stripe reports a new member, the join and a renewal's events shuffled
and delivered twice, a receipt whose PDF or email fails, a worker that dies while recording a
paid invoice, Stripe unreachable when the person presses "Join by card", two presses at once,
and a failed renewal reported after its retry was paid.

Each test asserts the end state in the database, at the fake Stripe and in the mail sent.
"""

import html as html_lib
import random
import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from cms import pdf
from cms.dates import add_months
from cms.models import OutboxKind, OutboxMessage, OutboxStatus
from cms.outbox import sweep
from courses.models import Membership, MembershipPeriod, MembershipPlan
from courses.services import membership as periods
from payments.models import DocumentCounter, MembershipPayment, MemberSubscription, WebhookEvent
from payments.services import membership as billing
from payments.services import process_stale_events
from tests.accounts_support import make_member
from tests.fakestripe.helpers import deliver_sent_events, post_webhook, running_fake_stripe
from tests.fakestripe.server import StripeError

pytestmark = pytest.mark.django_db

NOT_REACHED = "We could not reach the card processor, and nothing was charged."


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


@pytest.fixture
def plan(db):
    group, _ = Group.objects.get_or_create(name="Members")
    return MembershipPlan.objects.create(
        name="Member site, 1 year", price=12000, currency="USD", months=12, group=group
    )


@pytest.fixture
def person(client):
    user = make_member("pat@example.org", "Pat Member")
    client.force_login(user)
    return user


@pytest.fixture
def no_retry_pause(monkeypatch):
    """The SDK's own retries of a failed request, without their pause."""
    monkeypatch.setattr("stripe._http_client.HTTPClient._sleep_time_seconds", lambda *a: 0)


class MailServerDown(LocmemBackend):
    """The real delivery backend in tests, refusing every message while `down`."""

    down = False

    def send_messages(self, messages):
        if MailServerDown.down:
            raise ConnectionRefusedError("SMTP server not answering")
        return super().send_messages(messages)


def page_text(response):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def press_join(client, plan):
    return client.post(reverse("payments:membership_join"), {"plan": plan.pk})


def join_by_card(client, fake, plan):
    """Press "Join by card" and pay on the fake's Checkout page; returns the Stripe session."""
    response = press_join(client, plan)
    assert response.status_code == 302
    assert response["Location"].startswith(fake.base_url)
    return fake.complete_session(urlsplit(response["Location"]).path.rsplit("/", 1)[-1])


def take_sent(fake):
    """The events Stripe has sent so far, held back from delivery."""
    events = list(fake.sent_events)
    fake.sent_events.clear()
    return events


def deliver(client, fake, events):
    return [post_webhook(client, event, fake=fake) for event in events]


def receipts(user):
    return [m for m in mail.outbox if m.subject.startswith("Receipt") and m.to == [user.email]]


def renewal_failed_emails(user):
    return [
        m for m in mail.outbox if "renewal payment failed" in m.subject and m.to == [user.email]
    ]


def stamp(value):
    return datetime.fromtimestamp(int(value), tz=UTC)


def later(minutes):
    """A moment when the outbox's retry (at most a few minutes away here) is due."""
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes))


def receipt_counter():
    counter = DocumentCounter.objects.filter(kind="receipt", year=timezone.now().year).first()
    return counter.last_number if counter else 0


def assert_one_paid_year(person, plan):
    membership = Membership.objects.get(user=person)
    assert membership.current_periods().count() == 1
    assert periods.is_member(membership, timezone.now())
    assert person.groups.filter(pk=plan.group_id).exists()
    payment = MembershipPayment.objects.get(user=person)
    assert (payment.status, payment.amount) == ("paid", 12000)
    assert MemberSubscription.objects.get(user=person).status == "active"
    return payment


# -- 1. a broker outage while Stripe reports the new member -------------------------------------


def test_broker_down_while_the_join_events_arrive_then_the_sweep_makes_one_member(
    client, person, plan, fake_stripe, broker_down, broker_back, django_capture_on_commit_callbacks
):
    """Every delivery answers 200 and is kept; nothing happens until the broker is back; then
    one period, one payment and one receipt."""
    join_by_card(client, fake_stripe, plan)
    events = take_sent(fake_stripe)
    assert [e["type"] for e in events] == [
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    mail.outbox.clear()

    responses = deliver(client, fake_stripe, events)

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert WebhookEvent.objects.filter(processed_at__isnull=True).count() == 3
    assert not Membership.objects.filter(user=person).exists()
    assert not MembershipPayment.objects.exists()
    # Stripe redelivers the paid invoice during the outage: kept, not dropped as a duplicate.
    again = post_webhook(client, events[1], fake=fake_stripe)
    assert again.status_code == 200 and again.json()["duplicate"] is False
    assert WebhookEvent.objects.count() == 3
    assert not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        assert broker_back() >= 3  # the three events' processing
    with django_capture_on_commit_callbacks(execute=True):
        broker_back()  # a second sweep finds nothing more to do

    payment = assert_one_paid_year(person, plan)
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    (receipt,) = receipts(person)
    assert f"Receipt {payment.receipt_number} for Member site, 1 year" == receipt.subject
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()
    until = Membership.objects.get(user=person).access_until
    assert f"Member · until {until:%-d %B %Y}" in page_text(
        client.get(reverse("payments:membership"))
    )


def test_broker_down_reconciliation_processes_the_events_and_the_receipt_waits_for_the_broker(
    client, person, plan, fake_stripe, broker_down, broker_back, django_capture_on_commit_callbacks
):
    """The broker stays down past reconciliation's cutoff: `process_stale_events` records the
    year in the beat process; the receipt waits for the broker; the events' own promises, once
    delivered, change nothing."""
    join_by_card(client, fake_stripe, plan)
    mail.outbox.clear()
    deliver_sent_events(client, fake_stripe)
    assert not MembershipPayment.objects.exists()

    with later(10), django_capture_on_commit_callbacks(execute=True):
        assert process_stale_events() == 3

    payment = assert_one_paid_year(person, plan)
    assert not receipts(person)  # its task could not be queued
    assert OutboxMessage.objects.filter(
        key=f"payments:membership-receipt:{payment.pk}", status=OutboxStatus.PENDING
    ).exists()

    with django_capture_on_commit_callbacks(execute=True):
        broker_back()
    with later(10), django_capture_on_commit_callbacks(execute=True):
        broker_back()
        assert process_stale_events() == 0

    assert_one_paid_year(person, plan)
    (receipt,) = receipts(person)
    payment.refresh_from_db()
    assert payment.receipt_number in receipt.subject
    assert not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()


# -- 2. the join's and a renewal's events in any order, each twice ------------------------------

ORDERS = ["as sent", "reversed", "renewal first", *range(8)]


@pytest.mark.parametrize("order", ORDERS, ids=[str(o) for o in ORDERS])
def test_join_and_renewal_events_in_any_order_twice_leave_one_membership_of_two_years(
    order, client, person, plan, fake_stripe
):
    join_by_card(client, fake_stripe, plan)
    joined = take_sent(fake_stripe)
    (subscription_id,) = fake_stripe.subscriptions
    fake_stripe.renew_subscription(subscription_id)
    renewed = take_sent(fake_stripe)
    assert len(joined) + len(renewed) == 5
    if order == "as sent":
        deliveries = joined + renewed + joined + renewed
    elif order == "reversed":
        deliveries = list(reversed(joined + renewed)) * 2
    elif order == "renewal first":
        deliveries = renewed + renewed + joined + joined
    else:
        deliveries = (joined + renewed) * 2
        random.Random(order).shuffle(deliveries)  # noqa: S311 - a reproducible order
    mail.outbox.clear()

    responses = deliver(client, fake_stripe, deliveries)

    assert all(r.status_code == 200 for r in responses)
    membership = Membership.objects.get(user=person)
    first_invoice, renewal_invoice = fake_stripe.invoices.values()
    first_paid = stamp(first_invoice["status_transitions"]["paid_at"])
    assert membership.current_periods().count() == 2
    assert membership.access_until == add_months(add_months(first_paid, 12), 12)
    assert membership.grace_until is None
    payments = MembershipPayment.objects.filter(user=person)
    assert {p.stripe_invoice_id: (p.reason, p.status, p.amount) for p in payments} == {
        first_invoice["id"]: ("first", "paid", 12000),
        renewal_invoice["id"]: ("renewal", "paid", 12000),
    }
    numbers = {p.receipt_number for p in payments}
    assert len(numbers) == 2 and "" not in numbers
    assert sorted(m.subject for m in receipts(person)) == sorted(
        f"Receipt {number} for Member site, 1 year" for number in numbers
    )
    (subscription,) = MemberSubscription.objects.filter(user=person)
    assert (subscription.status, subscription.stripe_subscription_id) == (
        "active",
        subscription_id,
    )
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    assert set(WebhookEvent.objects.values_list("deliveries", flat=True)) == {2}


# -- 3. processing fails midway -----------------------------------------------------------------


def test_a_receipt_whose_pdf_failed_is_sent_later_with_the_same_number(
    client, person, plan, fake_stripe, monkeypatch
):
    """The PDF renderer crashes: the year and the payment are recorded once all the same; the
    receipt keeps its number and goes out once, on the outbox's retry."""
    real_render = pdf.render_pdf

    def renderer_crashes(*args, **kwargs):
        raise RuntimeError("PDF renderer crashed")

    monkeypatch.setattr(pdf, "render_pdf", renderer_crashes)
    numbers_before = receipt_counter()
    join_by_card(client, fake_stripe, plan)
    mail.outbox.clear()

    deliver_sent_events(client, fake_stripe)

    payment = assert_one_paid_year(person, plan)
    assert not WebhookEvent.objects.filter(processed_at__isnull=True).exists()
    assert payment.receipt_number and not payment.receipt_file
    number = payment.receipt_number
    assert not receipts(person)
    promise = OutboxMessage.objects.get(key=f"payments:membership-receipt:{payment.pk}")
    assert promise.status == OutboxStatus.PENDING
    assert "PDF renderer crashed" in promise.last_error

    monkeypatch.setattr(pdf, "render_pdf", real_render)
    with later(3), TestCase.captureOnCommitCallbacks(execute=True):
        sweep()
        sweep()

    payment.refresh_from_db()
    assert payment.receipt_number == number and payment.receipt_file
    (receipt,) = receipts(person)
    assert receipt.subject == f"Receipt {number} for Member site, 1 year"
    assert receipt.attachments[0][0] == f"{number}.pdf"
    assert receipt_counter() == numbers_before + 1  # one number taken, none lost
    assert_one_paid_year(person, plan)


def test_the_mail_server_down_delays_the_receipt_not_the_membership(
    client, person, plan, fake_stripe, settings
):
    settings.EMAIL_DELIVERY_BACKEND = f"{__name__}.MailServerDown"
    MailServerDown.down = True
    join_by_card(client, fake_stripe, plan)
    mail.outbox.clear()
    numbers_before = receipt_counter()

    try:
        deliver_sent_events(client, fake_stripe)

        payment = assert_one_paid_year(person, plan)
        assert payment.receipt_number and payment.receipt_file
        number = payment.receipt_number
        assert not receipts(person)
        email = OutboxMessage.objects.get(
            kind=OutboxKind.EMAIL, name=f"Receipt {number} for Member site, 1 year"
        )
    finally:
        MailServerDown.down = False
    assert email.status == OutboxStatus.PENDING
    assert "SMTP server not answering" in email.last_error

    with later(3), TestCase.captureOnCommitCallbacks(execute=True):
        sweep()
        sweep()

    (receipt,) = receipts(person)
    assert receipt.subject == f"Receipt {number} for Member site, 1 year"
    payment.refresh_from_db()
    assert payment.receipt_number == number
    assert receipt_counter() == numbers_before + 1
    assert_one_paid_year(person, plan)


def test_a_worker_that_dies_while_recording_a_paid_invoice_leaves_it_for_the_retry(
    client, person, plan, fake_stripe, monkeypatch
):
    """The worker processing invoice.paid dies inside the payment's transaction: nothing of it
    is kept, the event stays unprocessed with its error, the checkout.session.completed that
    follows records the year, and the retry of invoice.paid adds nothing more."""
    real_queue = billing.queue_membership_receipt

    def dies_once(payment):
        monkeypatch.setattr(billing, "queue_membership_receipt", real_queue)
        raise RuntimeError("worker lost its database connection")

    monkeypatch.setattr(billing, "queue_membership_receipt", dies_once)
    join_by_card(client, fake_stripe, plan)
    mail.outbox.clear()

    deliver_sent_events(client, fake_stripe)

    died = WebhookEvent.objects.get(type="invoice.paid")
    assert died.processed_at is None and died.failures == 1
    assert "worker lost its database connection" in died.last_error
    payment = assert_one_paid_year(person, plan)

    with later(10), TestCase.captureOnCommitCallbacks(execute=True):
        sweep()
        process_stale_events()

    died.refresh_from_db()
    assert died.processed_at is not None
    assert assert_one_paid_year(person, plan) == payment
    (receipt,) = receipts(person)
    payment.refresh_from_db()
    assert payment.receipt_number in receipt.subject


# -- 4. Stripe unreachable when the person presses "Join by card" -------------------------------


@pytest.mark.parametrize("outage", ["connection refused", "server error"])
def test_stripe_unreachable_on_join_says_nothing_was_charged_and_a_later_try_works(
    outage, client, person, plan, fake_stripe, settings, monkeypatch, no_retry_pause
):
    if outage == "connection refused":
        settings.STRIPE_API_BASE = "http://127.0.0.1:1"
    else:

        def stripe_fails(params):
            raise StripeError(500, "Stripe is having a moment.", error_type="api_error")

        monkeypatch.setattr(fake_stripe, "create_checkout_session", stripe_fails)

    response = client.post(reverse("payments:membership_join"), {"plan": plan.pk}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("payments:membership")
    text = page_text(response)
    assert f"{NOT_REACHED} Please try again in a minute." in text
    assert "Join by card" in text
    assert not fake_stripe.sessions
    (attempt,) = MemberSubscription.objects.filter(user=person)
    assert attempt.status == "abandoned"
    assert not billing.live_subscription(person)

    settings.STRIPE_API_BASE = fake_stripe.base_url
    monkeypatch.undo()
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)

    retried = MemberSubscription.objects.get(user=person, status="active")
    assert retried.pk != attempt.pk
    attempt.refresh_from_db()
    assert attempt.status == "abandoned"
    membership = Membership.objects.get(user=person)
    assert membership.current_periods().count() == 1
    assert MembershipPayment.objects.get(user=person).status == "paid"
    assert len(fake_stripe.sessions) == 1


# -- 5. two presses at once ---------------------------------------------------------------------


def _signed_in(user):
    browser_tab = Client()
    browser_tab.force_login(user)
    return browser_tab


def press_while_the_first_waits_on_stripe(fake, plan, person):
    """Press "Join by card" in two tabs, the second while Stripe has not yet answered the
    first (a double click on a slow connection). Returns the two tabs and their answers."""
    tabs = {"first": _signed_in(person), "second": _signed_in(person)}
    fake.slow_down("/v1/checkout/sessions", 10)
    answers = {}

    def press(name):
        try:
            answers[name] = press_join(tabs[name], plan)
        finally:
            connection.close()

    first = threading.Thread(target=press, args=("first",))
    first.start()
    second = threading.Thread(target=press, args=("second",))
    try:
        assert fake.slow_request_started.wait(10)  # the first press is at Stripe
        second.start()
        second.join(2)
    finally:
        fake.slow_requests_released.set()
        first.join(15)
        second.join(15)
    fake.delays.clear()
    assert set(answers) == {"first", "second"}
    return tabs, answers


def session_of(answer):
    return urlsplit(answer["Location"]).path.rsplit("/", 1)[-1]


@pytest.mark.postgres
# Real transactions: two requests on two connections.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_join_presses_while_stripe_is_slow_open_one_checkout(fake_stripe, plan):
    """One Checkout Session and one live subscription row, whichever tab the person pays in."""
    person = make_member("pat@example.org", "Pat Member")

    tabs, answers = press_while_the_first_waits_on_stripe(fake_stripe, plan, person)

    told = page_text(tabs["second"].get(reverse("payments:membership")))
    assert "already opening in another window" in told
    assert len(fake_stripe.sessions) == 1
    (live,) = MemberSubscription.objects.filter(user=person, status="checkout")
    assert live.stripe_checkout_session_id in fake_stripe.sessions


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_after_paying_in_the_first_tab_a_new_press_cannot_pay_a_second_year(fake_stripe, plan):
    """The person pays in the first tab, then presses "Join by card" again: the paid
    subscription is theirs (active) and no second Checkout page is offered."""
    person = make_member("pat@example.org", "Pat Member")
    tabs, answers = press_while_the_first_waits_on_stripe(fake_stripe, plan, person)
    paid_session = fake_stripe.complete_session(session_of(answers["first"]))
    deliver_sent_events(tabs["first"], fake_stripe)

    again = tabs["first"].post(reverse("payments:membership_join"), {"plan": plan.pk}, follow=True)

    paid = MemberSubscription.objects.get(stripe_subscription_id=paid_session["subscription"])
    assert paid.status == "active"
    assert "You already have a membership subscription." in page_text(again)
    assert len([s for s in fake_stripe.sessions.values() if s["status"] == "open"]) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_join_presses_at_the_same_moment_open_one_checkout(fake_stripe, plan):
    """Both presses start together (a double click): one Checkout Session, one live row; the
    other press is told the checkout is open elsewhere or sent to the same page."""
    person = make_member("pat@example.org", "Pat Member")
    tabs = [_signed_in(person), _signed_in(person)]
    start = threading.Barrier(2)
    answers = []

    def press(tab):
        try:
            start.wait(10)
            answers.append(press_join(tab, plan))
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(answers) == 2
    assert len(fake_stripe.sessions) == 1
    live = MemberSubscription.objects.filter(user=person, status="checkout")
    assert live.count() == 1
    assert live.get().stripe_checkout_session_id in fake_stripe.sessions


# -- 6. a failed renewal reported after its retry was paid --------------------------------------


def _year_has_passed(user):
    """Move the paid year into the past, as if its end had come."""
    past = timezone.now() - timedelta(days=366)
    MembershipPeriod.objects.filter(membership__user=user).update(
        granted_at=past, starts_at=past, ends_at=timezone.now() - timedelta(minutes=1)
    )


@pytest.mark.parametrize("failures_first", [0, 1], ids=["only failure late", "second failure late"])
def test_a_failed_renewal_reported_after_the_paid_retry_leaves_an_active_member(
    failures_first, client, person, plan, fake_stripe
):
    """Stripe's report of a declined renewal arrives after the report of the retry that paid
    it: the member stays active with no grace, and no "payment failed" email follows the
    receipt. With `failures_first`, an earlier decline was reported in time (its email is
    right) and only the second one arrives late."""
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    subscription = MemberSubscription.objects.get(user=person)
    _year_has_passed(person)
    mail.outbox.clear()
    invoice, _ = fake_stripe.renew_subscription(subscription.stripe_subscription_id, succeed=False)
    if failures_first:
        deliver_sent_events(client, fake_stripe)
        assert len(renewal_failed_emails(person)) == 1
        fake_stripe.retry_invoice(invoice["id"], succeed=False)
    declined = take_sent(fake_stripe)
    fake_stripe.retry_invoice(invoice["id"])
    paid = take_sent(fake_stripe)
    failed_before = len(renewal_failed_emails(person))

    deliver(client, fake_stripe, paid)
    receipts_after_paid = len(receipts(person))
    deliver(client, fake_stripe, declined)
    deliver(client, fake_stripe, paid)  # Stripe redelivers, for good measure

    membership = Membership.objects.get(user=person)
    assert membership.grace_until is None
    assert periods.is_member(membership, timezone.now())
    assert membership.access_until > timezone.now() + timedelta(days=360)
    subscription.refresh_from_db()
    assert subscription.status == "active"
    renewal = MembershipPayment.objects.get(stripe_invoice_id=invoice["id"])
    assert (renewal.status, renewal.reason) == ("paid", "renewal")
    assert len(renewal_failed_emails(person)) == failed_before == failures_first
    assert receipts_after_paid == len(receipts(person)) == 1
    assert "Your renewal payment failed." not in page_text(
        client.get(reverse("payments:membership"))
    )
