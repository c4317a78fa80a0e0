"""Whether a booking's price has been paid: a fact payments records and certification reads
(CE credit needs the CE fee paid), so neither has to import the other.

A free booking counts as paid when it is confirmed (`confirmation.confirm_registrations`).
"""

from django.db import transaction
from django.utils import timezone

from cms.audit import record
from courses.models import Booking


def record_booking_paid(booking, *, at=None, actor=None, note=""):
    """Mark `booking` paid at `at` (default now). Idempotent: a booking already marked paid
    keeps its first `paid_at` and no second audit record is written. Returns the booking
    with `paid_at` refreshed."""
    at = at or timezone.now()
    with transaction.atomic():
        changed = Booking.objects.filter(pk=booking.pk, paid_at__isnull=True).update(
            paid_at=at, updated_at=timezone.now()
        )
        if changed:
            record(
                "courses.booking.paid",
                booking,
                actor=actor,
                before={"paid_at": ""},
                after={"paid_at": at.isoformat()},
                note=note,
            )
    booking.paid_at = Booking.objects.values_list("paid_at", flat=True).get(pk=booking.pk)
    return booking


def record_booking_unpaid(booking, *, actor=None, note=""):
    """Clear `paid_at` (the payment was refunded in full, or never settled after all).
    Idempotent: an unpaid booking is left alone. Returns the booking, refreshed."""
    with transaction.atomic():
        before = Booking.objects.values_list("paid_at", flat=True).get(pk=booking.pk)
        changed = Booking.objects.filter(pk=booking.pk, paid_at__isnull=False).update(
            paid_at=None, updated_at=timezone.now()
        )
        if changed:
            record(
                "courses.booking.unpaid",
                booking,
                actor=actor,
                before={"paid_at": before.isoformat() if before else ""},
                after={"paid_at": ""},
                note=note,
            )
    booking.paid_at = None
    return booking
