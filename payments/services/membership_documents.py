"""Membership's paperwork: numbered receipts and invoices (in the same gap-free sequences as
event orders' documents), a year asked for by invoice and marked paid by Finance, renewal
reminders, and the emails about all of it.

Like orders' documents, a receipt is promised through the outbox in the payment's transaction
and numbered, rendered and emailed by its own task, so a render or mail outage never fails a
payment.
"""

from datetime import timedelta

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import pdf
from cms.email import send_templated_email
from cms.links import absolute_reverse
from cms.locking import lock_one
from cms.outbox import enqueue
from courses.models import Membership, PeriodSource
from courses.services import membership as periods
from payments.models import MembershipPayment, MemberSubscription

from .common import (
    PaymentError,
    change_status,
    finance_emails,
    invoice_payment_instructions,
    organisation_details,
    record,
    send_membership_email,
)
from .documents import DOCUMENT_PREFIX, _next_number
from .membership_seats import grant_paid_period

# Reminders go out this many days before a membership ends (or renews).
REMINDER_DAYS = (30, 7)


# -- numbered documents ------------------------------------------------------------------------


def _number(kind, now):
    return f"{DOCUMENT_PREFIX[kind]}-{now.year}-{_next_number(kind, now.year):05d}"


def issue_membership_document(payment, kind, now=None):
    """Number the payment's receipt or invoice once (under the counter's lock), then render
    its PDF once; a failed render keeps the number for the next try (no gap)."""
    now = now or timezone.now()
    number_field, file_field = f"{kind}_number", f"{kind}_file"
    with transaction.atomic():
        payment = lock_one(MembershipPayment, payment.pk)
        if not getattr(payment, number_field):
            setattr(payment, number_field, _number(kind, now))
            payment.save(update_fields=[number_field])
            record(
                f"membership.{kind}_issued",
                payment,
                after={"number": getattr(payment, number_field)},
            )
    if not getattr(payment, file_field):
        content = pdf.render_pdf(
            "payments/pdf/membership_document.html",
            {
                "kind": kind,
                "title": _("Receipt") if kind == "receipt" else _("Invoice"),
                "number": getattr(payment, number_field),
                "issued_on": timezone.localdate(payment.paid_at or payment.created_at),
                "payment": payment,
                "organisation": organisation_details(),
                "payment_instructions": invoice_payment_instructions(),
            },
        )
        with transaction.atomic():
            payment = lock_one(MembershipPayment, payment.pk)
            if not getattr(payment, file_field):
                getattr(payment, file_field).save(
                    f"{getattr(payment, number_field)}.pdf", ContentFile(content), save=False
                )
                payment.save(update_fields=[file_field])
    return payment


def _attachment(payment, kind):
    field = getattr(payment, f"{kind}_file")
    with field.open("rb") as handle:
        return (f"{getattr(payment, f'{kind}_number')}.pdf", handle.read(), "application/pdf")


@shared_task(
    name="payments.tasks.send_membership_receipt",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_membership_receipt(payment_pk):
    """Number, render and email the receipt of a paid membership period."""
    payment = MembershipPayment.objects.select_related("user", "plan").get(pk=payment_pk)
    if payment.status != MembershipPayment.Status.PAID:
        return
    payment = issue_membership_document(payment, "receipt", payment.paid_at or timezone.now())
    send_membership_email(
        "payments/email/membership_receipt",
        payment.user,
        {
            "payment": payment,
            "membership": Membership.objects.filter(user=payment.user).first(),
            "membership_url": absolute_reverse("payments:membership"),
        },
        attachments=[_attachment(payment, "receipt")],
        key=f"payments:membership-receipt-email:{payment.pk}",
    )


def queue_membership_receipt(payment):
    """Promise, in the payment's transaction, its receipt and email (once per payment)."""
    enqueue(send_membership_receipt, payment.pk, key=f"payments:membership-receipt:{payment.pk}")


# -- a year by invoice -------------------------------------------------------------------------


def request_membership_invoice(user, plan, *, billing_name, billing_address, po_number, now=None):
    """A year of `plan` invoiced to the person or their agency; the year starts when Finance
    marks it paid. One unpaid invoice per person and plan at a time."""
    now = now or timezone.now()
    if not plan.available:
        raise PaymentError(_("This plan is no longer offered. Please choose another one."))
    with transaction.atomic():
        # The person's row is the lock that serialises their requests (two clicks, one invoice).
        lock_one(get_user_model(), user.pk)
        waiting = MembershipPayment.objects.filter(
            user=user, plan=plan, status=MembershipPayment.Status.INVOICED
        ).first()
        if waiting is not None:
            raise PaymentError(
                _(
                    "An invoice for this plan (%(number)s) is already waiting for payment. "
                    "Pay that one, or ask us to cancel it."
                )
                % {"number": waiting.invoice_number}
            )
        payment = MembershipPayment.objects.create(
            user=user,
            plan=plan,
            method=MembershipPayment.Method.INVOICE,
            status=MembershipPayment.Status.INVOICED,
            amount=plan.price,
            currency=plan.currency,
            billing_name=billing_name,
            billing_address=billing_address,
            po_number=po_number,
            created_at=now,
        )
        payment.invoice_number = _number("invoice", now)
        payment.save(update_fields=["invoice_number"])
        record("membership.invoice_requested", payment, actor=user)
        enqueue(
            send_membership_invoice, payment.pk, key=f"payments:membership-invoice:{payment.pk}"
        )
    return payment


@shared_task(
    name="payments.tasks.send_membership_invoice",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_membership_invoice(payment_pk):
    """Render the invoice and email it to the person, and tell Finance it is waiting."""
    payment = MembershipPayment.objects.select_related("user", "plan").get(pk=payment_pk)
    payment = issue_membership_document(payment, "invoice", payment.created_at)
    send_membership_email(
        "payments/email/membership_invoice",
        payment.user,
        {"payment": payment, "membership_url": absolute_reverse("payments:membership")},
        attachments=[_attachment(payment, "invoice")],
        key=f"payments:membership-invoice-email:{payment.pk}",
    )
    send_templated_email(
        "payments/email/staff_membership_invoice",
        finance_emails(),
        {
            "payment": payment,
            "admin_url": absolute_reverse("payments_admin:members"),
        },
        key=f"payments:membership-invoice-staff:{payment.pk}",
    )


def mark_membership_invoice_paid(payment, *, actor, reference="", now=None):
    """Finance received the money: the year starts now, and the receipt goes out."""
    now = now or timezone.now()
    with transaction.atomic():
        payment = lock_one(MembershipPayment, payment.pk)
        if payment.status == MembershipPayment.Status.PAID:
            return payment
        if payment.status != MembershipPayment.Status.INVOICED:
            raise PaymentError(_("Only an invoice awaiting payment can be marked paid."))
        payment.paid_at = now
        payment.marked_paid_by = actor
        payment.payment_reference = reference
        change_status(
            payment,
            MembershipPayment.Status.PAID,
            actor=actor,
            extra_fields=["paid_at", "marked_paid_by", "payment_reference"],
        )
        grant_paid_period(
            payment, source=PeriodSource.INVOICE, reference=payment.reference, now=now, actor=actor
        )
        queue_membership_receipt(payment)
    return payment


def cancel_membership_invoice(payment, *, actor):
    with transaction.atomic():
        payment = lock_one(MembershipPayment, payment.pk)
        if payment.status != MembershipPayment.Status.INVOICED:
            raise PaymentError(_("Only an invoice awaiting payment can be cancelled."))
        change_status(payment, MembershipPayment.Status.CANCELLED, actor=actor)
    return payment


# -- renewal reminders -------------------------------------------------------------------------


def send_renewal_reminders(now=None):
    """Email people whose membership ends (or renews) in 30 or 7 days; once per reminder and
    period end (the outbox key), however often the daily task runs."""
    now = now or timezone.now()
    sent = 0
    for days in REMINDER_DAYS:
        window_end = now + timedelta(days=days)
        due = Membership.objects.filter(
            access_until__gt=window_end - timedelta(days=1), access_until__lte=window_end
        ).select_related("user", "plan")
        for membership in due:
            if not periods.is_member(membership, now):
                continue
            _remind(membership, days)
            sent += 1
    return sent


def _remind(membership, days):
    subscription = (
        MemberSubscription.objects.filter(user=membership.user, status__in=MemberSubscription.LIVE)
        .select_related("plan")
        .first()
    )
    send_membership_email(
        "payments/email/membership_reminder",
        membership.user,
        {
            "membership": membership,
            "days": days,
            "renews": subscription is not None and subscription.renews,
            "subscription": subscription,
            "membership_url": absolute_reverse("payments:membership"),
        },
        key=f"payments:membership-reminder:{membership.pk}:{days}:{membership.access_until:%Y%m%d}",
    )


@shared_task(name="payments.tasks.send_membership_reminders")
def send_membership_reminders_task():
    """Daily (beat): the 30- and 7-day renewal reminders."""
    return send_renewal_reminders()
