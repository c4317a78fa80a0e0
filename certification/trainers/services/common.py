"""What every trainer-certification service shares: its errors, audit snapshots and email."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string


class CertificationError(Exception):
    """A request the rules do not allow; the message tells the person what to do instead."""


class UploadTooLarge(CertificationError):
    pass


def _snapshot(obj, *fields):
    return {name: str(getattr(obj, name)) for name in fields}


def _email_after_commit(template_base, to, context):
    """The trainer services' one way of sending email: once the transaction commits, a
    plain-text email rendered from templates/certification/trainers/email/."""

    def send():
        if not to:
            return
        full_context = {"site_url": settings.SITE_URL, **context}
        subject = render_to_string(
            f"certification/trainers/email/{template_base}_subject.txt", full_context
        )
        body = render_to_string(f"certification/trainers/email/{template_base}.txt", full_context)
        send_mail(" ".join(subject.split()), body, None, [to])

    transaction.on_commit(send)
