"""Email: templated messages for people, written to the outbox with the change they report.

Nothing is sent inside a transaction and no page waits for a mail server: every message,
including allauth's (EMAIL_BACKEND is `OutboxEmailBackend`), becomes a `cms.outbox` row that a
Celery worker sends with settings.EMAIL_DELIVERY_BACKEND after the transaction commits.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation

from cms.mail_messages import deserialize_message, serialize_message
from cms.outbox import enqueue_email

__all__ = [
    "OutboxEmailBackend",
    "deserialize_message",
    "send_templated_email",
    "serialize_message",
]

logger = logging.getLogger(__name__)


class OutboxEmailBackend(BaseEmailBackend):
    """Django's EMAIL_BACKEND: each message becomes an outbox row, sent after commit.

    Used by allauth and anything calling `send_mail`. Writing the row cannot fail on a broker
    outage; with `fail_silently` (error mails to admins) any failure is only logged.
    """

    def send_messages(self, email_messages):
        sent = 0
        for message in email_messages:
            try:
                enqueue_email(serialize_message(message))
            except Exception:
                if not self.fail_silently:
                    raise
                logger.exception("Email %r could not be queued", message.subject)
                continue
            sent += 1
        return sent


# The name settings used before the outbox; messages took the same path through Celery.
CeleryEmailBackend = OutboxEmailBackend


def send_templated_email(
    template,
    to,
    context,
    *,
    subject=None,
    zone=None,
    language=None,
    attachments=(),
    key=None,
    new_key=False,
):
    """The one way the site writes to people: render now, send once the transaction commits.

    Rendering happens at once, from the state the caller sees; the rendered message is written
    to the outbox in the caller's transaction and leaves only after it commits, so nobody is
    told about a change that was rolled back, and a mail queue or mail server that is down
    delays the message without failing the change (cms.outbox retries it). Outside a
    transaction it is handed over at once. With `key`, a second call with the same key writes
    nothing (a job run twice sends one email); the message is still returned. `new_key=True`
    when the key names a row this transaction created (cms.outbox.enqueue says why it is cheaper).

    `template` names `<template>.txt` (the plain text, required), `<template>.html` (used when
    it exists) and, unless `subject` is given, `<template>_subject.txt`. Everything renders
    with the recipient's language active (the site's language until people can choose one)
    and in `zone` (an event's time zone), so dates read as they will where the event is.
    """
    recipients = [to] if isinstance(to, str) else [address for address in to if address]
    if not recipients:
        return None
    context = {"site_name": settings.WAGTAIL_SITE_NAME, "site_url": settings.SITE_URL, **context}
    with (
        translation.override(language or settings.LANGUAGE_CODE),
        timezone.override(zone or timezone.get_default_timezone()),
    ):
        if subject is None:
            subject = _render_plain_text(f"{template}_subject.txt", context)
        text = _render_plain_text(f"{template}.txt", context)
        html = _render_if_exists(f"{template}.html", context)
    message = EmailMultiAlternatives(" ".join(str(subject).split()), text, to=recipients)
    if html is not None:
        message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    enqueue_email(serialize_message(message), key=key, new_key=new_key)
    return message


def _render_plain_text(name, context):
    """Render a subject or plain-text body without HTML escaping: O'Brien stays O'Brien."""
    return get_template(name).template.render(Context(context, autoescape=False))


def _render_if_exists(name, context):
    try:
        template = get_template(name)
    except TemplateDoesNotExist:
        return None
    return template.render(context)
