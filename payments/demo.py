"""Demo payment settings: invoice payment for agencies and a cancellation policy on the
upcoming in-person events, and one discount code. Safe to run again."""

from django.db import transaction
from django.utils import timezone

from courses.models import EventPage
from payments.models import DiscountCode, EventPaymentSettings

# Agencies send whole teams to the in-person trainings and pay by purchase order.
INVOICE_EVENT_SLUG_PREFIXES = ["training-of-trainers-conference-", "fit-supervision-training-"]


def load_demo_content(stdout):
    with transaction.atomic():
        upcoming = EventPage.objects.filter(starts_at__gte=timezone.now())
        for prefix in INVOICE_EVENT_SLUG_PREFIXES:
            for event in upcoming.filter(slug__startswith=prefix):
                _, created = EventPaymentSettings.objects.get_or_create(
                    event=event,
                    defaults={
                        "invoice_payment_enabled": True,
                        "invoice_due_days": 30,
                        "invoice_reminder_days_before_due": 7,
                        "invoice_release_grace_days": 3,
                        "full_refund_days_before": 30,
                        "no_refund_days_before": 7,
                        "cancellation_fee": 5000,
                    },
                )
                if created:
                    stdout.write(f"  invoice payment and cancellation policy for {event.title}")
        conference = upcoming.filter(slug__startswith=INVOICE_EVENT_SLUG_PREFIXES[0]).first()
        if conference and not DiscountCode.objects.filter(code__iexact="TEAM10").exists():
            DiscountCode.objects.create(
                code="TEAM10",
                description="Agencies sending a team to the Training of Trainers Conference",
                kind=DiscountCode.Kind.PERCENT,
                percent_off=10,
                event=conference,
                max_uses=50,
            )
            stdout.write("  discount code TEAM10 (10% off the conference)")
    stdout.write("  payments are ready (card payment appears once STRIPE_SECRET_KEY is set)")
