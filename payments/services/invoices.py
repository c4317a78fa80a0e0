"""Paying by invoice: the seats confirm at once and the invoice is emailed; Finance marks it
paid when the money arrives; a reminder before the due date, then release if still unpaid."""

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses import services as courses
from courses.services import ReleaseOutcome
from payments.models import EventPaymentSettings, FinanceDocument, Order, Payment

from .common import PaymentError, change_status, locked, record, send_payments_email
from .documents import queue_document_email
from .orders import ensure_payable, forget_open_checkout, payment_options


def choose_invoice_payment(order, *, po_number, billing_name, billing_address, actor=None):
    """Pay later by invoice: the seats are confirmed now and the PDF invoice is emailed."""
    if not payment_options(order)["invoice"]:
        raise PaymentError(_("Invoice payment is not offered for this event. Please pay by card."))
    if not billing_address.strip():
        raise PaymentError(_("Enter the postal address the invoice should go to."))
    # A therapist paying for themselves names no organisation: the invoice is made out to them.
    billing_name = billing_name.strip() or order.purchaser.display_name
    ensure_payable(order)
    forget_open_checkout(order)
    policy = EventPaymentSettings.for_event(order.event)
    today = timezone.localdate()
    due = today + timedelta(days=policy.invoice_due_days)
    with transaction.atomic():
        order = locked(order)
        ensure_payable(order)
        order.payment_method = Order.Method.INVOICE
        order.po_number = po_number.strip()
        order.billing_name = billing_name.strip()
        order.billing_address = billing_address.strip()
        order.invoice_due_date = due
        order.save()
        record(
            "order.invoice_chosen",
            order,
            actor=actor,
            after={"po_number": order.po_number, "due": due.isoformat()},
        )
        try:
            with transaction.atomic():
                courses.confirm_registrations(order.booking, actor=actor)
        except courses.SeatsNoLongerAvailable as error:
            raise PaymentError(
                _("Your seat hold has expired and the event is now full. Nothing was invoiced.")
            ) from error
        except courses.RegistrationError as error:
            raise PaymentError(str(error)) from error
        queue_document_email(FinanceDocument.Kind.INVOICE, order.pk)
    return order


def mark_invoice_paid(order, *, actor, reference="", amount=None):
    """Finance records the money that arrived for an invoice (a Payment row), then a receipt."""
    with transaction.atomic():
        order = locked(order)
        if order.payment_method != Order.Method.INVOICE:
            raise PaymentError(_("Only invoice orders are marked paid by hand."))
        if order.status != Order.Status.PENDING:
            raise PaymentError(
                _("This order is already %(status)s.")
                % {"status": order.get_status_display().lower()}
            )
        due = order.total - order.amount_paid
        amount = due if amount in (None, "") else int(amount)
        if amount != due:
            raise PaymentError(
                _("Record the full amount due, %(due)s; part payments are not supported.")
                % {"due": order.money(due)}
            )
        payment = Payment.objects.create(
            order=order,
            method=Order.Method.INVOICE,
            amount=amount,
            currency=order.currency,
            reference=reference[:200],
            recorded_by=actor,
        )
        record("payment.received", payment, actor=actor, after={"amount": amount}, note=reference)
        order.paid_at = timezone.now()
        change_status(
            order, Order.Status.PAID, actor=actor, note="Invoice paid", extra_fields=["paid_at"]
        )
        courses.record_booking_paid(
            order.booking, at=order.paid_at, actor=actor, note=order.reference
        )
        queue_document_email(FinanceDocument.Kind.RECEIPT, order.pk)
    return order


def process_overdue_invoices(*, now=None):
    """Remind before the due date; release the seats of invoices still unpaid after it."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    reminded = released = 0
    pending = Order.objects.filter(
        status=Order.Status.PENDING,
        payment_method=Order.Method.INVOICE,
        invoice_due_date__isnull=False,
    ).select_related("event")
    for order in pending:
        policy = EventPaymentSettings.for_event(order.event)
        remind_on = order.invoice_due_date - timedelta(days=policy.invoice_reminder_days_before_due)
        release_after = order.invoice_due_date + timedelta(days=policy.invoice_release_grace_days)
        if order.invoice_reminder_sent_at is None and today >= remind_on:
            reminded += _send_invoice_reminder(order, now=now)
        elif (
            order.invoice_reminder_sent_at is not None
            and today > release_after
            and now - order.invoice_reminder_sent_at >= timedelta(days=1)
        ):
            released += _release_unpaid_invoice(order)
    return {"reminded": reminded, "released": released}


@shared_task(name="payments.tasks.process_overdue_invoices")
def process_overdue_invoices_task():
    """Hourly (beat): remind, then release the seats of unpaid invoices past their due date."""
    return process_overdue_invoices()


def _send_invoice_reminder(order, *, now):
    """Remind once (the row lock and the email's key hold against a second run); returns
    whether this run sent it."""
    with transaction.atomic():
        order = locked(order)
        if order.invoice_reminder_sent_at or order.status != Order.Status.PENDING:
            return False
        order.invoice_reminder_sent_at = now
        order.save(update_fields=["invoice_reminder_sent_at", "updated_at"])
        record("invoice.reminder_sent", order)
        invoice = order.documents.filter(kind=FinanceDocument.Kind.INVOICE).first()
        send_payments_email(
            "payments/email/invoice_reminder",
            [order.email],
            {"order": order, "invoice": invoice},
            order=order,
            # Two beat runs by mistake still send one reminder per invoice and due date.
            key=f"payments:invoice-reminder:{order.pk}:{order.invoice_due_date}",
        )
    return True


def _release_unpaid_invoice(order):
    """Cancel the order and release its seats (and the access they gave); returns whether
    this run did it."""
    with transaction.atomic():
        order = locked(order)
        if order.status != Order.Status.PENDING:
            return False
        change_status(order, Order.Status.CANCELLED, note="Invoice unpaid after its due date")
        courses.release_registrations(
            order.booking, outcome=ReleaseOutcome.CANCELLED, reason="invoice unpaid"
        )
        send_payments_email(
            "payments/email/invoice_released",
            [order.email],
            {"order": order},
            order=order,
            key=f"payments:invoice-released:{order.pk}",
        )
    return True
