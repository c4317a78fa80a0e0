"""Locks and status moves refuse to run outside a transaction: a row lock taken in
autocommit is released at once, and a status checked without one may already be stale."""

from types import SimpleNamespace

import pytest

from cms.locking import LockOutsideTransaction
from cms.states import InvalidTransition, can_move
from courses import capacity, services
from courses.models import Booking, BookingStatus


def test_locks_and_moves_refuse_to_run_outside_a_transaction():
    with pytest.raises(LockOutsideTransaction):
        capacity.lock_capacity(SimpleNamespace(pk=1))
    booking = Booking(status=BookingStatus.HELD)
    with pytest.raises(LockOutsideTransaction):
        services.transition(booking, BookingStatus.CANCELLED)
    assert booking.status == BookingStatus.HELD


def test_a_move_the_table_lacks_raises_before_anything_is_saved():
    booking = Booking(status=BookingStatus.CANCELLED)
    assert not can_move(booking, BookingStatus.CONFIRMED)
    with pytest.raises(InvalidTransition):
        services.transition(booking, BookingStatus.CONFIRMED)
    assert booking.status == BookingStatus.CANCELLED
