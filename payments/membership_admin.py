"""Finance's membership screens: the members (current, expiring soon, lapsed, failed renewals)
with a CSV export, and membership invoices to mark paid or cancel."""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cms import exports
from cms.access import Perm, staff
from cms.untrusted_input import refuse_nul_in
from courses.models import Membership
from payments.forms import MarkPaidForm
from payments.models import MembershipPayment, MemberSubscription
from payments.services import membership_documents as paperwork
from payments.services.common import PaymentError

EXPIRING_WITHIN = timedelta(days=30)

SHOWS = {
    "current": gettext_lazy("Current members"),
    "expiring": gettext_lazy("Ending within 30 days (not renewing)"),
    "failed": gettext_lazy("Failed renewals"),
    "lapsed": gettext_lazy("Lapsed"),
    "all": gettext_lazy("Everyone with a membership"),
}


def _members(show, query, now):
    live_renewing = MemberSubscription.objects.filter(
        user=OuterRef("user"), status=MemberSubscription.Status.ACTIVE, cancel_at_period_end=False
    )
    failed = MemberSubscription.objects.filter(
        user=OuterRef("user"), status=MemberSubscription.Status.PAST_DUE
    )
    rows = Membership.objects.select_related("user").annotate(
        renews=Exists(live_renewing), failed=Exists(failed)
    )
    if show == "current":
        rows = rows.filter(access_until__gt=now)
    elif show == "expiring":
        rows = rows.filter(
            access_until__gt=now, access_until__lte=now + EXPIRING_WITHIN, renews=False
        )
    elif show == "failed":
        rows = rows.filter(failed=True)
    elif show == "lapsed":
        rows = rows.filter(Q(access_until__lte=now) | Q(access_until__isnull=True))
    if query:
        rows = rows.filter(Q(user__email__icontains=query) | Q(user__legal_name__icontains=query))
    return rows.order_by("access_until", "pk")


def _filters(request):
    filters = refuse_nul_in(request.GET)
    show = filters.get("show", "current")
    return (show if show in SHOWS else "current"), filters.get("q", "").strip()


def _status(membership, now):
    if membership.failed:
        return _("Renewal failed")
    if membership.access_until and membership.access_until > now:
        return _("Member, renews") if membership.renews else _("Member")
    return _("Lapsed")


@staff(Perm.VIEW_FINANCE)
def members(request):
    show, query = _filters(request)
    now = timezone.now()
    page = Paginator(_members(show, query, now), 50).get_page(request.GET.get("page"))
    for membership in page:
        membership.status_text = _status(membership, now)
    return render(
        request,
        "payments/admin/members.html",
        {
            "page_title": _("Members"),
            "header_icon": "group",
            "members": page,
            "show": show,
            "shows": SHOWS.items(),
            "q": query,
            "query_string": urlencode({"show": show, "q": query}),
            "waiting_invoices": MembershipPayment.objects.filter(
                status=MembershipPayment.Status.INVOICED
            ).select_related("user", "plan"),
            "mark_paid_form": MarkPaidForm(),
        },
    )


@staff(Perm.VIEW_FINANCE)
def members_csv(request):
    show, query = _filters(request)
    now = timezone.now()
    response, writer = exports.csv_response("members.csv")
    writer.writerow(["Name", "Email", "Profession", "Status", "Member until (UTC)", "Renews"])
    for membership in _members(show, query, now).iterator():
        user = membership.user
        until = membership.access_until
        writer.writerow(
            [
                user.legal_name,
                user.email,
                user.profession,
                _status(membership, now),
                until.strftime("%Y-%m-%d") if until else "",
                "yes" if membership.renews else "no",
            ]
        )
    return response


@staff(Perm.REFUND_ORDER)
@require_POST
def invoice_mark_paid(request, payment_id):
    payment = get_object_or_404(MembershipPayment, public_id=payment_id)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the bank transfer or cheque reference to mark it paid."))
        return redirect("payments_admin:members")
    try:
        payment = paperwork.mark_membership_invoice_paid(
            payment, actor=request.user, reference=form.cleaned_data["reference"]
        )
    except PaymentError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _(
                "Invoice %(number)s is paid: %(name)s is a member from today, and the receipt "
                "is on its way."
            )
            % {"number": payment.invoice_number, "name": payment.user.legal_name},
        )
    return redirect("payments_admin:members")


@staff(Perm.REFUND_ORDER)
@require_POST
def invoice_cancel(request, payment_id):
    payment = get_object_or_404(MembershipPayment, public_id=payment_id)
    try:
        paperwork.cancel_membership_invoice(payment, actor=request.user)
    except PaymentError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Invoice %(number)s is cancelled.") % {"number": payment.invoice_number}
        )
    return redirect("payments_admin:members")
