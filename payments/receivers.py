"""Payments reacts to courses' signals (courses never imports payments)."""

import logging

from django.dispatch import receiver

from courses.signals import registration_cancelled
from payments import services

log = logging.getLogger(__name__)


@receiver(registration_cancelled, dispatch_uid="payments_refund_cancelled_registration")
def refund_cancelled_registration(sender, registration, actor=None, by_staff=False, **kwargs):
    """An attendee cancelled a paid seat: refund it by the event's cancellation policy."""
    try:
        services.refund_cancelled_registration(registration, actor=actor)
    except services.PaymentError:
        # The cancellation itself stands; staff see the failed refund row on the order page.
        log.exception("Refund for cancelled registration %s failed", registration.pk)
