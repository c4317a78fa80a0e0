from django.core.management.base import BaseCommand

from payments import services


class Command(BaseCommand):
    help = (
        "Settle card orders whose Stripe Checkout Session completed or expired without a "
        "processed webhook, and expire the sessions of lapsed seat holds."
    )

    def handle(self, *args, **options):
        if not services.card_payments_enabled():
            self.stdout.write("No STRIPE_SECRET_KEY is configured: nothing to reconcile.")
            return
        result = services.reconcile_with_stripe()
        stale = services.process_stale_events()
        self.stdout.write(
            f"Checked {result['checked']} order(s): {result['settled']} settled as paid, "
            f"{result['expired']} expired. Processed {stale} stored webhook event(s) that had "
            "not been processed."
        )
