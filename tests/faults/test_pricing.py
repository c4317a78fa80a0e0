"""Faults at the pricing seam: the buyer pays what the booking costs now, and a slow Stripe
holds up nobody but the buyer waiting on it.

Each test asserts the end state in the database, at the fake Stripe and in the mail sent.
"""

import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from courses import services as courses_services
from courses.factories import make_event
from courses.models import BookingStatus
from payments import services
from payments.models import DiscountCode, Order, Payment
from tests.fakestripe.helpers import deliver_sent_events, hold_seats, running_fake_stripe

# The slow Stripe call lasts until the test releases it (or this long, at most).
SLOW_STRIPE_SECONDS = 60


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


def held_seat_with_ce_add_on():
    event = make_event(price=45000, add_ons=[("CE credits", 5000, True)])
    booking = hold_seats(event=event)
    return booking, event.add_ons.get(name="CE credits")


def pay_by_card(client, booking):
    """The buyer's "Pay by card" click; returns the order with the session it opened."""
    client.force_login(booking.purchaser)
    response = client.post(
        reverse("payments:checkout", args=[booking.public_id]), {"action": "card"}
    )
    assert response.status_code == 302, response.content
    return Order.objects.get(booking=booking)


def tick(booking, add_on):
    courses_services.update_attendee_details(
        booking.registrations.get(), {"add_on_ids": [add_on.pk]}, actor=booking.purchaser
    )


@pytest.mark.django_db
def test_an_add_on_ticked_after_the_order_is_charged_at_the_new_total(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    booking, ce = held_seat_with_ce_add_on()
    old_session = pay_by_card(client, booking).stripe_checkout_session_id

    with django_capture_on_commit_callbacks(execute=True):
        tick(booking, ce)
    order = pay_by_card(client, booking)
    new_session = order.stripe_checkout_session_id
    fake_stripe.complete_session(new_session)
    mail.outbox.clear()
    deliver_sent_events(client, fake_stripe)

    # Stripe: the old session was expired, and the card was charged once, the new total.
    assert fake_stripe.sessions[old_session]["status"] == "expired"
    assert fake_stripe.sessions[new_session]["amount_total"] == 50000
    assert [c["amount"] for c in fake_stripe.charges.values()] == [50000]
    # The database: paid in full, seats confirmed with the add-on, nothing for staff to fix.
    order.refresh_from_db()
    booking.refresh_from_db()
    assert (order.status, order.total, order.needs_attention) == (Order.Status.PAID, 50000, False)
    assert list(Payment.objects.filter(order=order).values_list("amount", flat=True)) == [50000]
    assert booking.status == BookingStatus.CONFIRMED
    assert list(booking.registrations.get().add_on_lines.values_list("unit_price", flat=True)) == [
        5000
    ]
    # The mail: the buyer (the seat's attendee) gets one receipt and one confirmation.
    assert sorted((m.to, m.subject.split(" ")[0]) for m in mail.outbox) == [
        ([booking.purchaser.email], "Receipt"),
        ([booking.purchaser.email], "You"),
    ]


@pytest.mark.django_db
def test_the_old_session_paid_anyway_confirms_nothing_at_the_old_price(client, fake_stripe):
    """Expiring the old session did not happen (Stripe was down after the commit), and the
    buyer paid it from a tab left open: the seats are not confirmed for less than they cost."""
    booking, ce = held_seat_with_ce_add_on()
    old_session = pay_by_card(client, booking).stripe_checkout_session_id

    tick(booking, ce)  # its after-commit work (expiring the old session) never runs here
    fake_stripe.complete_session(old_session)
    deliver_sent_events(client, fake_stripe)

    order = Order.objects.get(booking=booking)
    booking.refresh_from_db()
    assert order.total == 50000
    assert order.status != Order.Status.PAID
    assert order.needs_attention
    assert booking.status == BookingStatus.HELD
    assert booking.paid_at is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_discount_code_applied_while_stripe_is_slow_does_not_block_other_buyers(fake_stripe):
    event = make_event(price=45000)
    DiscountCode.objects.create(code="SLOW10", kind="percent", percent_off=10)
    first = services.order_for_booking(hold_seats(event=event))
    services.start_card_checkout(
        first, success_url="http://testserver/back", cancel_url="http://testserver/left"
    )
    first.refresh_from_db()
    old_session = first.stripe_checkout_session_id
    second = services.order_for_booking(hold_seats(event=event))
    fake_stripe.slow_down("/expire", SLOW_STRIPE_SECONDS)
    errors = []

    def first_buyer_applies_the_code():
        try:
            services.apply_discount_code(first, "slow10")
        except Exception as error:  # reported by the test below
            errors.append(error)
        finally:
            connection.close()

    worker = threading.Thread(target=first_buyer_applies_the_code)
    worker.start()
    try:
        # The first buyer's request is now waiting on Stripe (expiring their open session).
        assert fake_stripe.slow_request_started.wait(timeout=10)
        # Were the code's row still locked by the first buyer, this would wait for Stripe
        # (and give up with "busy" after the lock timeout): it must finish first.
        services.apply_discount_code(second, "SLOW10")
        still_waiting_on_stripe = worker.is_alive()
    finally:
        fake_stripe.slow_requests_released.set()
        worker.join(timeout=30)

    assert still_waiting_on_stripe
    assert errors == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.total, first.discount_code.code, first.stripe_checkout_session_id) == (
        40500,
        "SLOW10",
        "",
    )
    assert (second.total, second.discount_code.code) == (40500, "SLOW10")
    assert fake_stripe.sessions[old_session]["status"] == "expired"
