"""The one way a booking or a seat changes status: along its model's TRANSITIONS table
(`BOOKING_TRANSITIONS`, `REGISTRATION_TRANSITIONS` in courses.models), stamped, saved and
audited together (`cms.states` holds the table check shared with payments)."""

from django.utils import timezone

from cms.audit import record
from cms.locking import require_transaction
from cms.states import can_move, check_move, move

# The moment each status is reached is kept in one field.
STAMPS = {
    "confirmed": "confirmed_at",
    "cancelled": "cancelled_at",
    "expired": "cancelled_at",
    "transferred": "cancelled_at",
}


can_transition = can_move


def transition(obj, to, *, now=None, actor=None, note="", fields=(), before=None, after=None):
    """Move `obj` (a Booking or Registration) to status `to`, or raise InvalidTransition.

    Stamps `confirmed_at` / `cancelled_at` with `now`, saves the status with `fields` (other
    fields the caller changed), and writes the audit record `courses.<model>.<to>` whose
    before/after hold the status plus `before` / `after`. Runs only inside the transaction
    that locked the row (else `cms.locking.LockOutsideTransaction`): the caller read the
    status it checks under that lock.
    """
    check_move(obj, to)
    require_transaction()
    stamp = STAMPS[str(to)]
    setattr(obj, stamp, now or timezone.now())
    old = move(obj, to, fields=[stamp, *fields])
    record(
        f"courses.{type(obj)._meta.model_name}.{to}",
        obj,
        actor=actor,
        before={"status": str(old), **(before or {})},
        after={"status": str(to), **(after or {})},
        note=note,
    )
    return obj
