from django import template

from cms.access import Perm, can
from cms.money import format_money
from payments import services
from payments.models import FinanceDocument, Refund

register = template.Library()


@register.filter
def money(amount, currency="USD"):
    """Minor units to a readable amount: `{{ 12345|money:"USD" }}` -> "$123.45"."""
    return format_money(amount, currency)


def _may_see_payments(context, booking):
    """Whether the signed-in person may see what was paid and refunded for `booking`: its
    purchaser, and Finance."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if booking is None or user is None or not user.is_authenticated:
        return False
    return booking.purchaser_id == user.pk or can(user, Perm.VIEW_FINANCE)


@register.simple_tag(takes_context=True)
def booking_documents(context, booking):
    """The booking's receipts, invoices and credit notes, for its purchaser (and Finance) only."""
    if not _may_see_payments(context, booking):
        return []
    return list(FinanceDocument.objects.filter(order__booking=booking).order_by("issued_at"))


@register.inclusion_tag("payments/includes/refund_policy.html")
def refund_policy(event, heading_level=2, as_card=False, ticket_types=None, add_ons=None):
    """The event's cancellation and refund policy in plain words (nothing for a free event).
    `ticket_types`/`add_ons`: the event's, when the page has them already (no second query)."""
    policy = (
        services.refund_policy(event, ticket_types=ticket_types, add_ons=add_ons)
        if event is not None
        else None
    )
    return {
        "sentences": policy.sentences() if policy else [],
        "heading_tag": f"h{heading_level}",
        "as_card": as_card,
    }


@register.simple_tag
def refund_policy_sentences(event):
    """The policy's sentences, for plain-text emails and PDFs."""
    policy = services.refund_policy(event) if event is not None else None
    return policy.sentences() if policy else []


@register.simple_tag
def cancellation_quote(registration):
    """What cancelling `registration` now gives back (None when nothing was sold)."""
    return services.cancellation_quote(registration)


@register.simple_tag(takes_context=True)
def booking_refunds(context, booking):
    """The booking's refunds, for its purchaser (and Finance) only."""
    if not _may_see_payments(context, booking):
        return []
    return list(Refund.objects.filter(order__booking=booking).order_by("created_at"))
