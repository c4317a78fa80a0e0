"""Email: templated messages for people, and a backend that hands each one to Celery so a slow
mail server never slows a page."""

import base64
import logging
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone, translation

logger = logging.getLogger(__name__)


def serialize_message(message):
    """Turn an EmailMessage into JSON-safe data for the task queue."""
    attachments = []
    for attachment in message.attachments:
        if isinstance(attachment, MIMEBase):
            filename = attachment.get_filename() or "attachment"
            content = attachment.get_payload(decode=True) or b""
            mimetype = attachment.get_content_type()
        else:
            filename, content, mimetype = attachment
        if isinstance(content, str):
            content = content.encode("utf-8")
        attachments.append([filename, base64.b64encode(content).decode("ascii"), mimetype])
    return {
        "subject": message.subject,
        "body": message.body,
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [list(alt) for alt in getattr(message, "alternatives", [])],
        "attachments": attachments,
    }


def deserialize_message(data, connection=None):
    """Rebuild the message on the worker side."""
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
        connection=connection,
    )
    for content, mimetype in data["alternatives"]:
        message.attach_alternative(content, mimetype)
    for filename, content, mimetype in data["attachments"]:
        message.attach(filename, base64.b64decode(content), mimetype)
    return message


class CeleryEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        # cms.tasks imports this module for deserialize_message: a real cycle.
        from cms.tasks import send_email_message

        for message in email_messages:
            send_email_message.delay(serialize_message(message))
        return len(email_messages)


def send_templated_email(
    template, to, context, *, subject=None, zone=None, language=None, attachments=()
):
    """The one way the site writes to people: render now, send once the transaction commits.

    Rendering happens at once, from the state the caller sees; the message leaves only after
    the surrounding transaction commits, so nobody is told about a change that was rolled
    back. A failure to hand the message over (mail queue down) is logged, never raised: the
    change it reports has already been committed. Outside a transaction it is sent at once.

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
    transaction.on_commit(lambda: _send(message))
    return message


def _send(message):
    try:
        message.send()
    except Exception:
        # The change is committed; a raise here would turn its page into an error. Who
        # missed which message is what an operator needs to resend it.
        logger.exception("Email %r to %s could not be handed over", message.subject, message.to)


def _render_plain_text(name, context):
    """Render a subject or plain-text body without HTML escaping: O'Brien stays O'Brien."""
    return get_template(name).template.render(Context(context, autoescape=False))


def _render_if_exists(name, context):
    try:
        template = get_template(name)
    except TemplateDoesNotExist:
        return None
    return template.render(context)
