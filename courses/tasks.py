"""Celery tasks: each a thin call into courses.services (or the mailer)."""

from celery import shared_task

from courses import services


@shared_task
def expire_holds():
    """Every minute (beat): expire lapsed holds and offers, offer freed seats to the waitlist."""
    return services.expire_holds()


@shared_task
def lapse_memberships():
    """Hourly (beat): remove member-area access whose period has ended."""
    return services.lapse_memberships()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_registrant_message(event_id, email, name, subject, body):
    from courses.emails import send_registrant_message as send
    from courses.models import EventPage

    send(EventPage.objects.get(pk=event_id), email, name, subject, body)
