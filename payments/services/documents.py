"""Receipts, invoices and credit notes: numbered without gaps, rendered to PDF, and emailed
to the buyer (a credit note with the refund notice).

The email goes from a Celery task promised through the outbox in the payment's transaction
(`queue_document_email`), so a slow render, a mail or broker outage never holds up or fails a
payment.
"""

from celery import shared_task
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import pdf
from cms.links import absolute_reverse
from cms.outbox import enqueue
from payments.models import DocumentCounter, FinanceDocument, Order, Payment, Refund
from payments.stripe_client import card_payments_enabled

from .common import (
    invoice_payment_instructions,
    locked,
    organisation_details,
    record,
    send_payments_email,
)

DOCUMENT_PREFIX = {
    FinanceDocument.Kind.RECEIPT: "R",
    FinanceDocument.Kind.INVOICE: "INV",
    FinanceDocument.Kind.CREDIT_NOTE: "CN",
}

# The email template of each kind, under templates/payments/email/.
DOCUMENT_EMAIL = {
    FinanceDocument.Kind.RECEIPT: "payments/email/receipt",
    FinanceDocument.Kind.INVOICE: "payments/email/invoice",
}


def _next_number(kind, year):
    """Take the next number for the kind and year under a row lock: numbers have no gaps,
    because a failed render rolls the counter back with the document."""
    try:
        with transaction.atomic():
            DocumentCounter.objects.get_or_create(kind=kind, year=year)
    except IntegrityError:
        pass
    counter = DocumentCounter.objects.select_for_update().get(kind=kind, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _document_amount(order, kind, refund):
    if kind == FinanceDocument.Kind.INVOICE:
        return order.total
    if kind == FinanceDocument.Kind.CREDIT_NOTE:
        return refund.amount
    return order.amount_paid


def issue_document(order, kind, *, now=None, refund=None):
    """The order's receipt or invoice (or a refund's credit note), numbered the first time it
    is asked for, with its PDF.

    Taking the number and creating the row is one short transaction under the counter's row
    lock; the PDF is rendered after it, so concurrent payments do not queue behind a render.
    A render that fails leaves the numbered row without a file, and the next call renders the
    same number: the sequence never has a gap.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = locked(order)
        document = order.documents.filter(kind=kind, refund=refund).first()
        if document is None:
            year = now.year
            sequence = _next_number(kind, year)
            number = f"{DOCUMENT_PREFIX[kind]}-{year}-{sequence:05d}"
            amount = _document_amount(order, kind, refund)
            document = FinanceDocument.objects.create(
                order=order,
                refund=refund,
                kind=kind,
                year=year,
                sequence=sequence,
                number=number,
                amount=amount,
                currency=order.currency,
                issued_at=now,
            )
            record("document.issued", document, after={"number": number, "amount": amount})
    if not document.file:
        document = render_document_file(document)
    return document


def render_document_file(document):
    """Render and store the PDF of a numbered document (once)."""
    order = document.order
    content = pdf.render_pdf(
        "payments/pdf/document.html",
        {
            "kind": document.kind,
            "DocumentKind": FinanceDocument.Kind,
            "title": document.get_kind_display(),
            "number": document.number,
            "issued_on": timezone.localdate(document.issued_at),
            "order": order,
            "lines": list(order.line_items.all()),
            "payments": list(order.payments.filter(status=Payment.Status.SUCCEEDED)),
            "amount": document.amount,
            "attendees": list(order.booking.registrations.all()),
            "organisation": organisation_details(),
            "refund": document.refund,
            "original": order.documents.exclude(kind=FinanceDocument.Kind.CREDIT_NOTE).first(),
            "payment_instructions": invoice_payment_instructions(),
            "pay_online_url": (
                absolute_reverse("payments:order_return", order.public_id)
                if document.kind == FinanceDocument.Kind.INVOICE and card_payments_enabled()
                else ""
            ),
        },
    )
    with transaction.atomic():
        document = FinanceDocument.objects.select_for_update().get(pk=document.pk)
        if not document.file:
            document.file.save(f"{document.number}.pdf", ContentFile(content), save=False)
            document.sha256 = pdf.sha256_hex(content)
            document.save(update_fields=["file", "sha256"])
    return document


def send_order_document(order_id, kind):
    """Number and render the order's receipt or invoice and email it, the PDF attached."""
    order = Order.objects.get(pk=order_id)
    document = issue_document(order, kind)
    with document.file.open("rb") as handle:
        content = handle.read()
    send_payments_email(
        DOCUMENT_EMAIL[kind],
        [order.email],
        {"order": order, "document": document},
        order=order,
        attachments=[(f"{document.number}.pdf", content, "application/pdf")],
        # The task may run twice (delivery is at least once): the buyer gets one email.
        key=f"payments:document-email:{document.number}",
    )


@shared_task(
    name="payments.tasks.send_receipt",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_receipt(order_pk):
    """Number, render and email the receipt of a paid order."""
    send_order_document(order_pk, FinanceDocument.Kind.RECEIPT)


@shared_task(
    name="payments.tasks.send_invoice",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_invoice(order_pk):
    """Number, render and email the invoice of an order paid by invoice."""
    send_order_document(order_pk, FinanceDocument.Kind.INVOICE)


DOCUMENT_TASK = {
    FinanceDocument.Kind.RECEIPT: send_receipt,
    FinanceDocument.Kind.INVOICE: send_invoice,
}


def refund_timing(refund):
    """When and how the money arrives, in the words of the refund email and page."""
    payment = refund.payment
    if payment is not None and payment.method == Order.Method.CARD:
        return _(
            "It goes back to the card you paid with and usually shows on your statement "
            "within 5 to 10 business days."
        )
    return _(
        "It is returned the way you paid (bank transfer or cheque); please allow up to 10 "
        "business days, and reply to this email if your bank details have changed."
    )


@shared_task(
    name="payments.tasks.send_refund_notice",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_refund_notice(refund_pk):
    """Number and render a succeeded refund's credit note and email it to the buyer."""
    refund = Refund.objects.select_related("order__event", "payment").get(pk=refund_pk)
    if refund.status != Refund.Status.SUCCEEDED:
        return
    document = issue_document(refund.order, FinanceDocument.Kind.CREDIT_NOTE, refund=refund)
    with document.file.open("rb") as handle:
        content = handle.read()
    send_payments_email(
        "payments/email/refund",
        [refund.order.email],
        {
            "order": refund.order,
            "refund": refund,
            "document": document,
            "timing": refund_timing(refund),
        },
        order=refund.order,
        attachments=[(f"{document.number}.pdf", content, "application/pdf")],
        key=f"payments:refund-email:{refund.pk}",
    )


def queue_refund_notice(refund_id):
    """Promise, in the refund's transaction, its credit note and email (once per refund)."""
    enqueue(send_refund_notice, refund_id, key=f"payments:refund-notice:{refund_id}")


def queue_document_email(kind, order_id):
    """Promise, in the surrounding transaction, to render and email the document in its own
    task (an outbox row: a broker outage delays the email, it never fails the payment). One
    email per order and kind, however often the payment is processed."""
    enqueue(DOCUMENT_TASK[kind], order_id, key=f"payments:{kind}:{order_id}")
