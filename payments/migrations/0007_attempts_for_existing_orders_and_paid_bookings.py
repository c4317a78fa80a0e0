"""Existing data, best effort:

1. A payment attempt for each order that has a Checkout Session on record. Orders kept only
   their latest session id, so only that session gets an attempt; earlier sessions (and card
   payments made through them, such as a refunded second payment) keep no attempt. The
   expected amount is the order's total now. The status is read from the order:
   - a card payment with the order's PaymentIntent: `paid` (`refunded` when refunds cover
     it), linked to that payment, and flagged when its amount or currency differs from the
     order's, as the old code flagged it;
   - otherwise an expired order: `expired`; a cancelled card order: `failed`; else `created`.
2. `Booking.paid_at` for the booking of every order that is paid or partly refunded, from
   the order's `paid_at` (a fully refunded order's booking stays unpaid, as a refund in full
   now clears it). Free bookings were marked by courses' own migration.
"""

from django.db import migrations
from django.db.models import Sum

SETTLED = ("paid", "partially_refunded")


def attempts_for_existing_orders(apps, schema_editor):
    Order = apps.get_model("payments", "Order")
    Payment = apps.get_model("payments", "Payment")
    PaymentAttempt = apps.get_model("payments", "PaymentAttempt")
    orders = Order.objects.exclude(stripe_checkout_session_id="")
    for order in orders.iterator():
        if PaymentAttempt.objects.filter(
            stripe_checkout_session_id=order.stripe_checkout_session_id
        ).exists():
            continue
        payment = None
        if order.stripe_payment_intent_id:
            payment = Payment.objects.filter(
                order=order,
                stripe_payment_intent_id=order.stripe_payment_intent_id,
                attempt__isnull=True,
            ).first()
        attempt = PaymentAttempt(
            order=order,
            stripe_checkout_session_id=order.stripe_checkout_session_id,
            amount_expected=order.total,
            currency=order.currency,
            created_at=order.created_at,
        )
        if payment is not None:
            refunded = (
                payment.refunds.filter(status="succeeded").aggregate(s=Sum("amount"))["s"] or 0
            )
            attempt.status = "refunded" if refunded >= payment.amount else "paid"
            attempt.stripe_payment_intent_id = payment.stripe_payment_intent_id
            attempt.amount_received = payment.amount
            if payment.amount != order.total or payment.currency != order.currency:
                attempt.flagged_reason = (
                    f"Paid {payment.amount} {payment.currency} for an order of "
                    f"{order.total} {order.currency} (recorded before payment attempts)."
                )
        elif order.status == "expired":
            attempt.status = "expired"
        elif order.status == "cancelled" and order.payment_method == "card":
            attempt.status = "failed"
        attempt.save()
        if payment is not None:
            Payment.objects.filter(pk=payment.pk).update(attempt=attempt)


def paid_bookings(apps, schema_editor):
    Order = apps.get_model("payments", "Order")
    Booking = apps.get_model("courses", "Booking")
    for order in Order.objects.filter(status__in=SETTLED, paid_at__isnull=False).iterator():
        Booking.objects.filter(pk=order.booking_id, paid_at__isnull=True).update(
            paid_at=order.paid_at
        )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_payment_attempts"),
        ("courses", "0005_booking_paid_at"),
    ]

    operations = [
        migrations.RunPython(attempts_for_existing_orders, migrations.RunPython.noop),
        migrations.RunPython(paid_bookings, migrations.RunPython.noop),
    ]
