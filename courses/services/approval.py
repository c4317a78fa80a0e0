"""Staff approval of bookings whose ticket requires it."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.audit import record
from courses import emails
from courses.models import ApprovalStatus

from .common import is_event_staff, lock_booking, snapshot
from .confirmation import ReleaseOutcome, release_registrations
from .errors import NotAllowed


def decide_approval(booking, *, approve, actor, now=None):
    """Staff approve (the purchaser then has the offer window to complete) or reject."""
    now = now or timezone.now()
    if not is_event_staff(actor):
        raise NotAllowed(_("Only event managers can approve registrations."))
    with transaction.atomic():
        booking = lock_booking(booking.pk)
        if booking.approval_status != ApprovalStatus.PENDING:
            return booking
        before = snapshot(booking, ("approval_status", "expires_at"))
        booking.approval_status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        if approve:
            booking.expires_at = now + timedelta(hours=booking.event.waitlist_offer_hours)
        booking.save(update_fields=["approval_status", "expires_at", "updated_at"])
        record(
            "courses.booking.approved" if approve else "courses.booking.rejected",
            booking,
            actor=actor,
            before=before,
            after=snapshot(booking, ("approval_status", "expires_at")),
        )
    if not approve:
        release_registrations(
            booking,
            outcome=ReleaseOutcome.CANCELLED,
            reason="approval rejected",
            actor=actor,
            now=now,
        )
        booking.refresh_from_db()
    emails.send_approval_decision(booking)
    return booking
