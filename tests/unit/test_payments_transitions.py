"""Payments state machines: each model declares its moves in one table (`TRANSITIONS`), and
`payments.services.common.change_status` moves along it or raises."""

import pytest

from cms.models import AuditRecord
from cms.states import InvalidTransition
from payments.models import Order, Payment, PaymentAttempt, Refund
from payments.services.common import can_change_status, change_status
from tests.fakestripe.helpers import hold_seats

OS = Order.Status
AS = PaymentAttempt.Status


@pytest.mark.parametrize("model", [Order, PaymentAttempt, Payment, Refund])
def test_every_status_has_a_row_and_every_move_ends_in_a_status(model):
    statuses = set(model.Status.values)
    assert set(model.TRANSITIONS) == statuses
    for targets in model.TRANSITIONS.values():
        assert set(targets) <= statuses


def test_the_order_table_is_the_designed_one():
    allowed = {(a, b) for a, targets in Order.TRANSITIONS.items() for b in targets}
    assert allowed == {
        (OS.PENDING, OS.PAID),
        (OS.PENDING, OS.EXPIRED),
        (OS.PENDING, OS.CANCELLED),
        (OS.EXPIRED, OS.PAID),  # a late card payment, confirmed when seats are free
        (OS.PAID, OS.PARTIALLY_REFUNDED),
        (OS.PAID, OS.REFUNDED),
        (OS.PARTIALLY_REFUNDED, OS.REFUNDED),
    }


def test_the_attempt_table_is_the_designed_one():
    allowed = {(a, b) for a, targets in PaymentAttempt.TRANSITIONS.items() for b in targets}
    assert allowed == {
        (AS.CREATED, AS.PAID),
        (AS.CREATED, AS.FAILED),
        (AS.CREATED, AS.EXPIRED),
        (AS.PAID, AS.REFUNDED),
    }


def test_payment_rows_never_change_status():
    assert all(not targets for targets in Payment.TRANSITIONS.values())


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (OS.CANCELLED, OS.PAID),
        (OS.REFUNDED, OS.PAID),
        (OS.PAID, OS.PENDING),
        (OS.EXPIRED, OS.CANCELLED),
        (OS.PARTIALLY_REFUNDED, OS.PAID),
    ],
)
def test_a_move_not_in_the_table_is_refused_and_nothing_is_saved(db, before, after):
    order = Order(status=before)
    assert not can_change_status(order, after)
    order = _order(status=before)
    with pytest.raises(InvalidTransition):
        change_status(order, after)
    order.refresh_from_db()
    assert order.status == before


def test_a_move_in_the_table_saves_and_is_audited(db):
    order = _order()
    assert change_status(order, OS.PAID, note="test") is True
    order.refresh_from_db()
    assert order.status == OS.PAID
    audit = AuditRecord.objects.get(action="payments.order.status_changed")
    assert (audit.before, audit.after) == ({"status": "pending"}, {"status": "paid"})


def test_moving_to_the_status_it_has_changes_nothing(db):
    order = _order(status=OS.PAID)
    assert change_status(order, OS.PAID) is False
    assert not AuditRecord.objects.filter(action="payments.order.status_changed").exists()


def test_attempts_move_along_their_own_table(db):
    order = _order()
    attempt = PaymentAttempt.objects.create(
        order=order, stripe_checkout_session_id="cs_1", amount_expected=100, currency="USD"
    )
    with pytest.raises(InvalidTransition):
        change_status(attempt, AS.REFUNDED)
    change_status(attempt, AS.PAID)
    change_status(attempt, AS.REFUNDED)
    with pytest.raises(InvalidTransition):
        change_status(attempt, AS.EXPIRED)
    assert AuditRecord.objects.filter(action="payments.attempt.status_changed").count() == 2


def _order(status=OS.PENDING):
    booking = hold_seats()
    return Order.objects.create(
        booking=booking,
        event=booking.event,
        purchaser=booking.purchaser,
        email=booking.purchaser.email,
        status=status,
        total=45000,
        subtotal=45000,
    )
