"""The member's pages about their membership: status, the next charge, receipts; joining by
card (Stripe Checkout, subscription mode) or by invoice; Stripe's portal to update the card or
cancel; receipt and invoice downloads."""

import contextlib

import stripe
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cms.access import Perm, may_act_for_others, members, owner
from courses.models import Membership, MembershipPlan
from courses.services import membership as periods
from payments.forms import MembershipInvoiceForm
from payments.models import MembershipPayment, MemberSubscription
from payments.services import membership as billing
from payments.services import membership_documents as paperwork
from payments.services import membership_seats as seat_service
from payments.services.common import PaymentError
from payments.stripe_client import card_payments_enabled, checkout_origin

DOCUMENT_KINDS = ("receipt", "invoice")


def _page_url(request):
    return request.build_absolute_uri(reverse("payments:membership"))


@members
def membership(request, invoice_form=None):
    """Your membership: whether you are a member and until when, what renews and when, your
    receipts, and how to join, renew, update the card or cancel."""
    user = request.user
    now = timezone.now()
    record = Membership.objects.filter(user=user).first()
    subscription = billing.live_subscription(user)
    payments = list(
        MembershipPayment.objects.filter(user=user)
        .exclude(status=MembershipPayment.Status.CANCELLED)
        .select_related("plan")
    )
    response = render(
        request,
        "payments/membership.html",
        {
            "membership": record,
            "is_member": record is not None and periods.is_member(record, now),
            "grace": record is not None and periods.in_grace(record, now),
            "periods": list(record.current_periods().order_by("starts_at")) if record else [],
            "subscription": subscription,
            "can_manage_card": bool(card_payments_enabled() and billing.known_customer(user)),
            "payments": payments,
            "plans": list(billing.plans_on_sale()),
            "seat_purchases": [
                {
                    "purchase": purchase,
                    "kind": "subscription"
                    if isinstance(purchase, MemberSubscription)
                    else "payment",
                    "seats": seats,
                    "free": purchase.plan.agency_seats - len(seats),
                }
                for purchase, seats in seat_service.purchases_with_seats(user)
            ],
            "card_payments": card_payments_enabled(),
            "invoice_form": invoice_form or MembershipInvoiceForm(),
            "Status": MemberSubscription.Status,
            "PaymentStatus": MembershipPayment.Status,
        },
    )
    # Joining and "Manage" post to views that redirect to Stripe's hosted pages.
    response._csp_update = {"form-action": [checkout_origin()]}
    return response


def _plan(request):
    plan_id = request.POST.get("plan", "")
    plan = (
        MembershipPlan.objects.filter(pk=plan_id, available=True).first()
        if plan_id.isdigit()
        else None
    )
    if plan is None:
        messages.error(request, _("Choose one of the membership plans below."))
    return plan


@members
@require_POST
def join(request):
    """Pay for a plan by card: Stripe Checkout in subscription mode."""
    plan = _plan(request)
    if plan is None:
        return redirect("payments:membership")
    page = _page_url(request)
    try:
        url = billing.start_membership_checkout(
            request.user,
            plan,
            success_url=request.build_absolute_uri(reverse("payments:membership_return")),
            cancel_url=page,
        )
    except PaymentError as error:
        messages.error(request, str(error))
        return redirect("payments:membership")
    return redirect(url)


@members
@require_GET
def checkout_return(request):
    """Where Stripe sends the new member back: settle at once when Stripe says it is paid (the
    webhook does it too), so the member's pages open straight away."""
    session_id = request.GET.get("session_id", "")
    ours = MemberSubscription.objects.filter(
        user=request.user, stripe_checkout_session_id=session_id
    ).exists()
    if ours and session_id:
        # If Stripe cannot be reached now, the webhook settles it a moment later.
        with contextlib.suppress(stripe.StripeError):
            billing.settle_membership_checkout(session_id)
    record = Membership.objects.filter(user=request.user).first()
    if record is not None and periods.is_member(record, timezone.now()):
        messages.success(
            request,
            _("Welcome! Your membership is active. The members' library is open to you now."),
        )
    elif ours:
        messages.info(
            request,
            _(
                "We are confirming your payment with the card processor. This usually takes a "
                "few seconds: reload this page in a moment. Please don't pay again."
            ),
        )
    return redirect("payments:membership")


@members
@require_POST
def request_invoice(request):
    """Ask for a year by invoice (an agency, or anyone without a card): Finance marks it paid."""
    plan = _plan(request)
    if plan is None:
        return redirect("payments:membership")
    form = MembershipInvoiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please correct the invoice details below."))
        return membership(request, invoice_form=form)
    try:
        payment = paperwork.request_membership_invoice(
            request.user,
            plan,
            billing_name=form.cleaned_data["billing_name"] or request.user.legal_name,
            billing_address=form.cleaned_data["billing_address"],
            po_number=form.cleaned_data["po_number"],
        )
    except PaymentError as error:
        messages.error(request, str(error))
        return redirect("payments:membership")
    messages.success(
        request,
        _(
            "Invoice %(number)s for %(amount)s is on its way to %(email)s. Your year of "
            "membership starts on the day we receive the payment."
        )
        % {
            "number": payment.invoice_number,
            "amount": payment.amount_text(),
            "email": request.user.email,
        },
    )
    return redirect("payments:membership")


@members
@require_POST
def give_seat(request):
    """An agency gives one of its purchase's seats to a colleague, by email."""
    kind, public_id = request.POST.get("purchase", ":").partition(":")[::2]
    model = {"subscription": MemberSubscription, "payment": MembershipPayment}.get(kind)
    purchase = None
    if model is not None:
        with contextlib.suppress(ValueError, ValidationError):
            purchase = model.objects.filter(public_id=public_id, user=request.user).first()
    if purchase is None:
        messages.error(request, _("Choose one of your memberships with agency seats."))
        return redirect("payments:membership")
    try:
        seat = seat_service.give_seat(purchase, request.POST.get("email", ""), actor=request.user)
    except PaymentError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("A seat is now %(email)s's; we emailed them how to use it.") % {"email": seat.email},
        )
    return redirect("payments:membership")


@members
@require_POST
def manage(request):
    """Stripe's customer portal: update the card, see invoices, cancel at the period end."""
    try:
        url = billing.customer_portal_url(request.user, return_url=_page_url(request))
    except PaymentError as error:
        messages.error(request, str(error))
        return redirect("payments:membership")
    return redirect(url)


@owner(Perm.VIEW_FINANCE)
def document(request, payment_id, kind):
    """A membership receipt or invoice PDF: for the member and for Finance."""
    if kind not in DOCUMENT_KINDS:
        raise Http404(_("No such document."))
    payment = get_object_or_404(MembershipPayment, public_id=payment_id)
    if payment.user_id != request.user.pk and not may_act_for_others(
        request.user, Perm.VIEW_FINANCE
    ):
        raise Http404(_("No such document."))
    if not getattr(payment, f"{kind}_number"):
        raise Http404(_("No such document."))
    if not getattr(payment, f"{kind}_file"):
        payment = paperwork.issue_membership_document(payment, kind)
    number = getattr(payment, f"{kind}_number")
    return FileResponse(
        getattr(payment, f"{kind}_file").open("rb"),
        as_attachment=True,
        filename=f"{number}.pdf",
        content_type="application/pdf",
    )
