"""What the payment services share: the refusal they raise, the audit record, the order lock
and status change, where staff alerts go, the organisation on documents, and email."""

from django.conf import settings
from wagtail.models import Site

from cms import audit
from cms.access import Perm, users_with
from cms.email import send_templated_email
from cms.locking import lock_one
from cms.models import SiteSettings
from cms.states import can_move, move
from payments.models import Order, PaymentAttempt


class PaymentError(Exception):
    """A refusal whose message tells the person what to do next."""


def record(action, obj, *, actor=None, before=None, after=None, note=""):
    """Audit a payments change under the `payments.` action namespace."""
    audit.record(f"payments.{action}", obj, actor=actor, before=before, after=after, note=note)


def locked(order):
    """The order re-read under a row lock (the caller holds a transaction; a lock not granted
    within the lock timeout raises `cms.locking.Busy`)."""
    return lock_one(Order, order.pk)


def record_attempt_started(order, session):
    """A Checkout Session was opened for `order`: its payment attempt, `created`, expecting
    the order's total. Call it in the transaction that stores the session on the order.
    Idempotent per session; returns the attempt."""
    attempt, created = PaymentAttempt.objects.get_or_create(
        stripe_checkout_session_id=session.id,
        defaults={"order": order, "amount_expected": order.total, "currency": order.currency},
    )
    if created:
        record(
            "attempt.created",
            attempt,
            after={"session": session.id, "amount": attempt.amount_expected},
        )
    return attempt


# The audit action of each model's status change (`payments.<name>.status_changed`).
AUDIT_NAMES = {
    "Order": "order",
    "PaymentAttempt": "attempt",
    "Payment": "payment",
    "Refund": "refund",
    "MemberSubscription": "membership.subscription",
    "MembershipPayment": "membership.payment",
}


def can_change_status(obj, status):
    """Whether `obj` (an Order, PaymentAttempt, Payment or Refund) may move to `status`."""
    return status == obj.status or can_move(obj, status)


def change_status(obj, status, *, actor=None, note="", extra_fields=()):
    """The one way a payments row changes status: only along its model's `TRANSITIONS`
    table (anything else raises `cms.states.InvalidTransition`), saving `extra_fields` with
    it, audited.

    Moving to the status it already has changes nothing and returns False (a repeated
    webhook, a racing return page); a move returns True.
    """
    if status == obj.status:
        return False
    before = move(obj, status, fields=extra_fields)
    record(
        f"{AUDIT_NAMES[type(obj).__name__]}.status_changed",
        obj,
        actor=actor,
        before={"status": before},
        after={"status": status},
        note=note,
    )
    return True


def finance_emails():
    """Where staff alerts go: Finance staff, else the site's contact address."""
    emails = list(users_with(Perm.VIEW_FINANCE, superusers=False).values_list("email", flat=True))
    if not emails:
        contact = organisation_details().get("email")
        emails = [contact] if contact else [email for _, email in settings.ADMINS]
    return emails


def organisation_details():
    """The organisation's name, address and contact for documents, from the site settings."""
    details = {"name": settings.WAGTAIL_SITE_NAME, "address": "", "email": "", "phone": ""}
    site = Site.objects.filter(is_default_site=True).first()
    if site:
        site_settings = SiteSettings.for_site(site)
        name = site_settings.organisation_name or details["name"]
        details.update(
            name=name,
            address=_address_without_name(site_settings.postal_address, name),
            email=site_settings.contact_email,
            phone=site_settings.phone,
        )
    return details


def _address_without_name(address, name):
    """The postal address without a first line repeating the organisation's name (documents
    print the name above it already)."""
    lines = (address or "").strip().splitlines()
    if lines and lines[0].strip().casefold() == name.strip().casefold():
        lines = lines[1:]
    return "\n".join(lines)


def invoice_payment_instructions():
    """How to pay an invoice (bank details, cheque address), from the site settings."""
    site = Site.objects.filter(is_default_site=True).first()
    return SiteSettings.for_site(site).invoice_payment_instructions if site else ""


def send_payments_email(template, to, context, *, order=None, attachments=(), key=None):
    """Email from `templates/<template>{.txt,_subject.txt}` with the organisation's details,
    sent after the transaction commits; about an order, in its event's time zone. `key`
    makes it once only (the outbox writes one message per key)."""
    send_templated_email(
        template,
        to,
        {"organisation": organisation_details(), **context},
        zone=order.event.zone if order is not None else None,
        attachments=attachments,
        key=key,
    )


def send_membership_email(template, user, context, *, key, attachments=()):
    """Email a member (or a colleague given a seat) about their membership, with the
    organisation's details; once per `key`."""
    send_templated_email(
        template,
        [user.email],
        {"organisation": organisation_details(), "person": user, **context},
        attachments=attachments,
        key=key,
    )
