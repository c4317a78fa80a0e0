"""cms's Celery tasks: the outbox's delivery and sweep (defined in cms.outbox), Wagtail's
scheduled publishing, and the email task of the time before the outbox."""

from celery import shared_task
from django.conf import settings
from django.core.mail import get_connection
from django.core.management import call_command

from cms.mail_messages import deserialize_message
from cms.outbox import deliver, sweep

__all__ = ["deliver", "publish_scheduled_pages", "send_email_message", "sweep"]


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_message(data):
    """Deliver one email queued before the outbox existed (still in a broker after an upgrade).

    New messages go through cms.outbox; nothing queues this task any more.
    """
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
    deserialize_message(data, connection=connection).send()


@shared_task
def publish_scheduled_pages():
    """Pages whose go-live time has come go live, and those whose expiry has come go dark:
    Wagtail leaves running its `publish_scheduled` command to the site, and beat does it."""
    call_command("publish_scheduled")
