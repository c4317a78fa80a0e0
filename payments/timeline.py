"""An order's history for Finance, as sentences: payments, refunds, card checkouts, Stripe
webhooks and the audit records of the order and everything hanging off it, oldest first.

Audit records store machine values (`{"status": "paid"}`, amounts in minor units); this module
turns each known action into a sentence with formatted money and the status labels staff see
elsewhere, and falls back to a readable form for actions it does not know.
"""

from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.dates import long_date
from cms.models import AuditRecord
from cms.money import format_money
from payments.models import FinanceDocument, Order, Payment, PaymentAttempt, Refund

# The models whose audit records belong on an order's timeline, with their status labels.
STATUS_LABELS = {
    "order": dict(Order.Status.choices),
    "attempt": dict(PaymentAttempt.Status.choices),
    "payment": dict(Payment.Status.choices),
    "refund": dict(Refund.Status.choices),
}
SUBJECTS = {
    "order": gettext_lazy("Order"),
    "attempt": gettext_lazy("Card checkout"),
    "payment": gettext_lazy("Payment"),
    "refund": gettext_lazy("Refund"),
}


def order_timeline(order):
    """Entries `{"when", "kind", "text"}` for the order, oldest first."""
    entries = []
    entries += [_payment_entry(payment) for payment in order.payments.all()]
    entries += [_refund_entry(refund) for refund in order.refunds.all()]
    entries += [_attempt_entry(attempt) for attempt in order.attempts.all()]
    entries += [_webhook_entry(event) for event in order.webhook_events.all()]
    entries += [_audit_entry(record, order.currency) for record in _audit_records(order)]
    return sorted(entries, key=lambda entry: entry["when"])


def _money(amount, currency):
    return format_money(amount, currency) if isinstance(amount, int) else str(amount)


def _payment_entry(payment):
    sentence = _("%(amount)s paid by %(method)s: %(status)s.") % {
        "amount": format_money(payment.amount, payment.currency),
        "method": payment.get_method_display().lower(),
        "status": payment.get_status_display().lower(),
    }
    reference = payment.reference or payment.stripe_payment_intent_id
    if reference:
        sentence += " " + _("Reference %(reference)s.") % {"reference": reference}
    return {"when": payment.created_at, "kind": _("Payment"), "text": sentence}


def _refund_entry(refund):
    sentence = _("Refund of %(amount)s (%(origin)s): %(status)s.") % {
        "amount": format_money(refund.amount, refund.currency),
        "origin": refund.get_origin_display().lower(),
        "status": refund.get_status_display().lower(),
    }
    if refund.reason:
        sentence += " " + _("Reason: %(reason)s.") % {"reason": refund.reason.rstrip(".")}
    if refund.failure_message:
        sentence += " " + _("Stripe said: %(message)s") % {"message": refund.failure_message}
    return {"when": refund.created_at, "kind": _("Refund"), "text": sentence}


def _attempt_entry(attempt):
    sentence = _("Card checkout for %(amount)s: %(status)s.") % {
        "amount": format_money(attempt.amount_expected, attempt.currency),
        "status": attempt.get_status_display().lower(),
    }
    if attempt.amount_received is not None and attempt.amount_received != attempt.amount_expected:
        sentence += " " + _("%(amount)s was received.") % {
            "amount": format_money(attempt.amount_received, attempt.currency)
        }
    if attempt.flagged_reason:
        sentence += " " + _("Flagged: %(reason)s") % {"reason": attempt.flagged_reason}
    return {"when": attempt.created_at, "kind": _("Card checkout"), "text": sentence}


def _webhook_entry(event):
    sentence = _("Stripe reported %(type)s: %(outcome)s.") % {
        "type": event.type,
        "outcome": event.outcome or _("waiting to be processed"),
    }
    if event.deliveries > 1:
        sentence += " " + _("Delivered %(count)s times.") % {"count": event.deliveries}
    if event.failures and not event.processed_at:
        sentence += " " + _("Processing failed %(count)s times; last error: %(error)s") % {
            "count": event.failures,
            "error": event.last_error,
        }
    return {"when": event.received_at, "kind": _("Stripe"), "text": sentence}


def _audit_records(order):
    related = {
        Order._meta.label_lower: [order.pk],
        Payment._meta.label_lower: list(order.payments.values_list("pk", flat=True)),
        Refund._meta.label_lower: list(order.refunds.values_list("pk", flat=True)),
        PaymentAttempt._meta.label_lower: list(order.attempts.values_list("pk", flat=True)),
        FinanceDocument._meta.label_lower: list(order.documents.values_list("pk", flat=True)),
    }
    for label, pks in related.items():
        if pks:
            yield from AuditRecord.objects.filter(
                object_type=label, object_id__in=[str(pk) for pk in pks]
            ).select_related("actor")


def _audit_entry(record, currency):
    action = record.action.removeprefix("payments.")
    if action == "document.issued":
        # "Receipt R-2026-00001", "Credit note CN-2026-00001": the document's own name.
        sentence = _("%(document)s issued for %(money)s.") % {
            "document": record.object_repr or (record.after or {}).get("number", ""),
            "money": _money((record.after or {}).get("amount", ""), currency),
        }
    else:
        sentence = _sentence(action, record.before or {}, record.after or {}, currency)
    if record.actor:
        sentence += " " + _("By %(name)s.") % {"name": record.actor.display_name}
    if record.note and record.note not in sentence:
        sentence += " " + _("Note: %(note)s") % {"note": record.note}
    return {"when": record.created_at, "kind": _("History"), "text": sentence}


def _sentence(action, before, after, currency):
    subject, _dot, verb = action.rpartition(".")
    if verb == "status_changed" and subject in STATUS_LABELS:
        labels = STATUS_LABELS[subject]
        return _("%(subject)s moved from %(before)s to %(after)s.") % {
            "subject": SUBJECTS[subject],
            "before": labels.get(before.get("status"), before.get("status", "?")).lower(),
            "after": labels.get(after.get("status"), after.get("status", "?")).lower(),
        }
    money = _money(after.get("amount", after.get("total", "")), after.get("currency", currency))
    known = {
        "order.created": _("Order created for %(money)s."),
        "attempt.created": _("Card checkout opened for %(money)s."),
        "order.checkout_started": _("The buyer went to Stripe's payment page to pay %(money)s."),
        "payment.received": _("Payment of %(money)s recorded."),
        "refund.requested": _("Refund of %(money)s requested."),
        "invoice.reminder_sent": _("Invoice reminder emailed to the buyer."),
        "order.flagged": _("Flagged for Finance."),
        "order.attention_resolved": _("Marked as resolved."),
    }
    if action in known:
        return known[action] % {"money": money}
    if action == "order.invoice_chosen":
        sentence = _("The buyer chose to pay by invoice, due %(due)s.") % {
            "due": _readable_day(after.get("due", ""))
        }
        if after.get("po_number"):
            sentence += " " + _("Purchase order %(po)s.") % {"po": after["po_number"]}
        return sentence
    # An action this module does not know yet: its name in words, and its values.
    words = action.replace(".", " ").replace("_", " ").capitalize()
    details = ", ".join(f"{key} {value}" for key, value in after.items())
    return f"{words}{': ' + details if details else ''}."


def _readable_day(iso_day):
    try:
        return long_date(date.fromisoformat(iso_day))
    except (TypeError, ValueError):
        return iso_day
