from django import template

from cms.access import Perm, can
from cms.money import format_money
from payments.models import FinanceDocument

register = template.Library()


@register.filter
def money(amount, currency="USD"):
    """Minor units to a readable amount: `{{ 12345|money:"USD" }}` -> "$123.45"."""
    return format_money(amount, currency)


@register.simple_tag(takes_context=True)
def booking_documents(context, booking):
    """The booking's receipts and invoices, for its purchaser (and Finance) only."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if booking is None or user is None or not user.is_authenticated:
        return []
    if booking.purchaser_id != user.pk and not can(user, Perm.VIEW_FINANCE):
        return []
    return list(FinanceDocument.objects.filter(order__booking=booking).order_by("issued_at"))
