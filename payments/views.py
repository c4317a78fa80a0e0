"""The buyer's pages: checkout, the return from Stripe, the status poll, document downloads."""

import contextlib

import stripe
from django.contrib import messages
from django.core.cache import cache
from django.db import models
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cms.access import Perm, may_act_for_others, owner
from courses.models import Booking, BookingStatus
from payments import services
from payments.forms import DiscountCodeForm, InvoiceForm
from payments.models import FinanceDocument, Order
from payments.stripe_client import checkout_origin

# The status poll asks Stripe itself at most this often (seconds) per order.
STRIPE_CHECK_EVERY = 10


class BuyerState(models.TextChoices):
    """Where an order stands for its buyer: the return page's heading, the poll's `state`."""

    CONFIRMED = "confirmed"
    INVOICED = "invoiced"
    PROCESSING = "processing"
    REFUNDED = "refunded"
    UNPAID = "unpaid"
    ENDED = "ended"


def _own_booking(request, booking_id):
    return get_object_or_404(Booking, public_id=booking_id, purchaser=request.user)


def _own_order(request, order_id):
    return get_object_or_404(Order, public_id=order_id, purchaser=request.user)


@owner()
def checkout(request, booking_id):
    """Choose how to pay for a booking: card (Stripe Checkout), invoice, or nothing to pay."""
    booking = _own_booking(request, booking_id)
    order = services.order_for_booking(booking, actor=request.user)
    if order.is_settled or order.payment_method == Order.Method.INVOICE:
        return redirect("payments:order_return", order_id=order.public_id)
    invoice_form = InvoiceForm()
    discount_form = DiscountCodeForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "discount":
                discount_form = DiscountCodeForm(request.POST)
                if discount_form.is_valid():
                    services.apply_discount_code(
                        order, discount_form.cleaned_data["code"], actor=request.user
                    )
                    messages.success(request, _("The discount was applied."))
                    return redirect("payments:checkout", booking_id=booking.public_id)
            elif action == "free":
                services.confirm_free_order(order, actor=request.user)
                return redirect("payments:order_return", order_id=order.public_id)
            elif action == "card":
                url = services.start_card_checkout(
                    order,
                    success_url=request.build_absolute_uri(
                        reverse("payments:order_return", args=[order.public_id])
                    ),
                    cancel_url=request.build_absolute_uri(
                        reverse("payments:checkout_cancelled", args=[booking.public_id])
                    ),
                    actor=request.user,
                )
                return redirect(url)
            elif action == "invoice":
                invoice_form = InvoiceForm(request.POST)
                if invoice_form.is_valid():
                    services.choose_invoice_payment(
                        order, actor=request.user, **invoice_form.cleaned_data
                    )
                    return redirect("payments:order_return", order_id=order.public_id)
        except services.PaymentError as error:
            messages.error(request, str(error))
            order.refresh_from_db()
    order.refresh_from_db()
    response = render(
        request,
        "payments/checkout.html",
        {
            "booking": booking,
            "order": order,
            "lines": order.line_items.all(),
            "options": services.payment_options(order),
            "hold_expired": booking.hold_has_expired()
            or booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED)
            or order.status != Order.Status.PENDING,
            "discount_form": discount_form,
            "invoice_form": invoice_form,
        },
    )
    # The card button's form redirects to Stripe's hosted page; the CSP must allow it.
    response._csp_update = {"form-action": [checkout_origin()]}
    return response


@owner()
def checkout_cancelled(request, booking_id):
    booking = _own_booking(request, booking_id)
    messages.info(
        request,
        _(
            "You left the card payment page, and nothing was charged. You can pay below while "
            "your seats are held."
        ),
    )
    return redirect("payments:checkout", booking_id=booking.public_id)


@owner()
def order_return(request, order_id):
    """Where Stripe sends the buyer back: "processing" until confirmed, then the confirmation.

    A succeeded payment is never shown as failed: a pending card order says "processing"
    while the webhook (or this page's own check with Stripe) settles it.
    """
    order = _own_order(request, order_id)
    session_id = request.GET.get("session_id", "")
    if (
        order.status == Order.Status.PENDING
        and order.payment_method == Order.Method.CARD
        and session_id == order.stripe_checkout_session_id
        and session_id
    ):
        # If Stripe cannot be reached, the webhook or reconciliation settles it; the page polls.
        with contextlib.suppress(stripe.StripeError):
            services.settle_checkout_session(session_id, source="return page")
        order.refresh_from_db()
    card_payments = services.card_payments_enabled()
    response = render(
        request,
        "payments/order_return.html",
        {
            "order": order,
            "state": _buyer_state(order),
            "BuyerState": BuyerState,
            "booking": order.booking,
            "card_payments": card_payments,
        },
    )
    if card_payments:
        # "Pay this invoice by card" posts to a view that redirects to Stripe's hosted page.
        response._csp_update = {"form-action": [checkout_origin()]}
    return response


@owner()
@require_POST
def pay_invoice_by_card(request, order_id):
    """An invoiced buyer would rather pay by card: Stripe Checkout for the invoice's total.
    The seats are already confirmed; the card payment settles the invoice (and its receipt
    follows) through the same webhook path as any card payment."""
    order = _own_order(request, order_id)
    if order.payment_method != Order.Method.INVOICE or order.status != Order.Status.PENDING:
        messages.info(request, _("This invoice is not awaiting payment."))
        return redirect("payments:order_return", order_id=order.public_id)
    back = request.build_absolute_uri(reverse("payments:order_return", args=[order.public_id]))
    try:
        url = services.start_card_checkout(
            order, success_url=back, cancel_url=back, actor=request.user
        )
    except services.PaymentError as error:
        messages.error(request, str(error))
        return redirect("payments:order_return", order_id=order.public_id)
    return redirect(url)


def _buyer_state(order):
    if order.is_settled and order.booking.status == BookingStatus.CONFIRMED:
        return BuyerState.CONFIRMED
    if order.payment_method == Order.Method.INVOICE and order.status == Order.Status.PENDING:
        return BuyerState.INVOICED
    if order.is_settled or (
        order.status == Order.Status.PENDING and order.payment_method == Order.Method.CARD
    ):
        # Paid but seats not yet confirmed (or being refunded): still "processing" to the
        # buyer until the staff-visible outcome is settled.
        if order.status == Order.Status.REFUNDED:
            return BuyerState.REFUNDED
        return BuyerState.PROCESSING
    if order.status == Order.Status.PENDING:
        return BuyerState.UNPAID
    return BuyerState.ENDED


@owner()
@require_GET
def order_status(request, order_id):
    """JSON for the return page's poll."""
    order = _own_order(request, order_id)
    state = _buyer_state(order)
    if (
        state == BuyerState.PROCESSING
        and order.stripe_checkout_session_id
        and cache.add(f"payments:status-check:{order.pk}", True, timeout=STRIPE_CHECK_EVERY)
    ):
        # A lost or slow webhook must not leave the buyer waiting: ask Stripe now and then.
        with contextlib.suppress(stripe.StripeError):
            services.settle_checkout_session(order.stripe_checkout_session_id, source="status")
        order.refresh_from_db()
        state = _buyer_state(order)
    return JsonResponse({"state": state, "done": state != BuyerState.PROCESSING})


@owner(Perm.VIEW_FINANCE)
def document_download(request, document_id):
    """A receipt or invoice PDF: for the buyer who placed the order and for Finance."""
    document = get_object_or_404(
        FinanceDocument.objects.select_related("order"), public_id=document_id
    )
    if document.order.purchaser_id != request.user.pk and not may_act_for_others(
        request.user, Perm.VIEW_FINANCE
    ):
        raise Http404(_("No such document."))
    if not document.file:
        # Its first render failed; render it now under the number it already has.
        document = services.render_document_file(document)
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"{document.number}.pdf",
        content_type="application/pdf",
    )
