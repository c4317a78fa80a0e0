"""What the payment services share: the refusal they raise, the audit record, the order lock
and status change, where staff alerts go, the organisation on documents, and email."""

from django.conf import settings
from wagtail.models import Site

from cms import audit
from cms.access import Perm, users_with
from cms.email import send_templated_email
from cms.models import SiteSettings
from payments.models import Order


class PaymentError(Exception):
    """A refusal whose message tells the person what to do next."""


def record(action, obj, *, actor=None, before=None, after=None, note=""):
    """Audit a payments change under the `payments.` action namespace."""
    audit.record(f"payments.{action}", obj, actor=actor, before=before, after=after, note=note)


def locked(order):
    """The order re-read under a row lock (the caller holds a transaction)."""
    return Order.objects.select_for_update().get(pk=order.pk)


def change_status(order, status, *, actor=None, note="", extra_fields=()):
    """Move an order to `status`, saving `extra_fields` with it, and audit the change."""
    before = order.status
    order.status = status
    order.save(update_fields=["status", "updated_at", *extra_fields])
    record(
        "order.status_changed",
        order,
        actor=actor,
        before={"status": before},
        after={"status": status},
        note=note,
    )


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
        details.update(
            name=site_settings.organisation_name or details["name"],
            address=site_settings.postal_address,
            email=site_settings.contact_email,
            phone=site_settings.phone,
        )
    return details


def send_payments_email(template, to, context, *, order=None, attachments=()):
    """Email from `templates/<template>{.txt,_subject.txt}` with the organisation's details,
    sent after the transaction commits; about an order, in its event's time zone."""
    send_templated_email(
        template,
        to,
        {"organisation": organisation_details(), **context},
        zone=order.event.zone if order is not None else None,
        attachments=attachments,
    )
