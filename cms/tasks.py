from celery import shared_task
from django.conf import settings
from django.core.mail import get_connection

from cms.email import deserialize_message


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_message(data):
    """Deliver one queued email with the real delivery backend."""
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
    deserialize_message(data, connection=connection).send()
