"""Payments reacts to courses' signals (courses never imports payments)."""

import logging

from allauth.account.signals import email_confirmed
from django.dispatch import receiver

from courses.signals import booking_changed, registration_cancelled
from payments import services
from payments.models import Order
from payments.services import membership_seats

log = logging.getLogger(__name__)


@receiver(registration_cancelled, dispatch_uid="payments_refund_cancelled_registration")
def refund_cancelled_registration(sender, registration, actor=None, by_staff=False, **kwargs):
    """An attendee cancelled a paid seat: refund it by the event's cancellation policy."""
    try:
        services.refund_cancelled_registration(registration, actor=actor)
    except services.PaymentError:
        # The cancellation itself stands; staff see the failed refund row on the order page.
        log.exception("Refund for cancelled registration %s failed", registration.pk)


@receiver(booking_changed, dispatch_uid="payments_sync_order_with_booking")
def sync_order_with_booking(sender, booking, **kwargs):
    """A held booking's price may have changed (an add-on ticked, a seat cancelled): its
    unpaid order follows, inside the same transaction. The booking is already locked, so the
    order is locked without waiting: a payment being recorded for it right now (which locks
    the order, then the booking) makes this change answer "busy, try again" instead of
    deadlocking. A replaced Checkout Session is expired at Stripe after the commit."""
    order = Order.objects.filter(booking=booking).first()
    if order is not None:
        services.sync_order_with_booking(order, nowait=True)


@receiver(email_confirmed, dispatch_uid="payments_claim_membership_seats")
def claim_membership_seats(sender, request, email_address, **kwargs):
    """A colleague given an agency seat before they had an account confirms that address:
    the seat, and the membership it pays for, become theirs."""
    membership_seats.claim_seats(email_address.user, email_address.email)
