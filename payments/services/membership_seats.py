"""Agency seats: a plan with `agency_seats` is bought by an agency for its staff. The buyer
gives each seat to a colleague by email; every period the purchase pays for (the first year,
each renewal, a year by invoice) goes to the colleagues holding seats, in their own
memberships, instead of to the buyer.

A purchase is a card subscription (`MemberSubscription`) or a year by invoice
(`MembershipPayment`). A seat given after the purchase was paid gets the period paid most
recently, starting the day it is given (chained after anything the colleague already has).
A seat given to an address with no account yet waits: the colleague is emailed, and the
seat is theirs when they sign up and confirm that address.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cms.links import absolute_reverse
from cms.locking import lock_one
from courses.models import PeriodSource
from courses.services import membership as periods
from payments.models import MembershipPayment, MembershipSeat, MemberSubscription

from .common import PaymentError, record, send_membership_email


def has_seats(plan):
    return plan.agency_seats > 0


def holders(payment):
    """Who a paid period of this purchase goes to: the seat holders with an account for an
    agency plan, else the buyer."""
    if not has_seats(payment.plan):
        return [payment.user]
    seats = _seats_of(payment.subscription or payment)
    return [seat.user for seat in seats if seat.user_id]


def _seats_of(purchase):
    if isinstance(purchase, MemberSubscription):
        return list(MembershipSeat.objects.filter(subscription=purchase).select_related("user"))
    return list(MembershipSeat.objects.filter(payment=purchase).select_related("user"))


def grant_paid_period(payment, *, source, reference, now, actor=None):
    """Add the period `payment` paid for to each holder's membership (once per holder)."""
    for holder in holders(payment):
        periods.add_period(
            holder,
            group_id=payment.plan.group_id,
            months=payment.plan.months,
            source=source,
            reference=_seat_reference(reference, payment, holder),
            now=now,
            actor=actor,
        )


def _seat_reference(reference, payment, holder):
    if not has_seats(payment.plan):
        return reference
    return f"{reference}:seat-holder:{holder.pk}"


def purchases_with_seats(user):
    """The person's purchases that carry agency seats, each with its seats: live card
    subscriptions and paid or waiting invoices."""
    found = []
    subscriptions = MemberSubscription.objects.filter(
        user=user, plan__agency_seats__gt=0, status__in=MemberSubscription.LIVE
    ).exclude(status=MemberSubscription.Status.CHECKOUT)
    for subscription in subscriptions.select_related("plan"):
        found.append((subscription, _seats_of(subscription)))
    invoices = MembershipPayment.objects.filter(
        user=user,
        plan__agency_seats__gt=0,
        subscription__isnull=True,
        status__in=[MembershipPayment.Status.INVOICED, MembershipPayment.Status.PAID],
    )
    for payment in invoices.select_related("plan"):
        found.append((payment, _seats_of(payment)))
    return found


def _latest_paid(purchase):
    if isinstance(purchase, MembershipPayment):
        return purchase if purchase.status == MembershipPayment.Status.PAID else None
    return (
        purchase.payments.filter(status=MembershipPayment.Status.PAID)
        .order_by("-paid_at", "-pk")
        .first()
    )


def _reference_of(payment):
    if payment.stripe_invoice_id:
        return f"stripe-invoice:{payment.stripe_invoice_id}"
    return payment.reference


def give_seat(purchase, email, *, actor, now=None):
    """Give one of the purchase's seats to `email`. Refused when every seat is taken, the
    address is not an email, or it already holds a seat of this purchase."""
    now = now or timezone.now()
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as error:
        raise PaymentError(
            _("Enter your colleague's email address, e.g. name@agency.org.")
        ) from error
    model = type(purchase)
    with transaction.atomic():
        purchase = lock_one(model, purchase.pk)
        if purchase.user_id != actor.pk:
            raise PaymentError(_("Only the person who bought these seats can give them."))
        taken = len(_seats_of(purchase))
        if taken >= purchase.plan.agency_seats:
            raise PaymentError(
                _("All %(count)d seats are given. Each seat is one colleague's membership.")
                % {"count": purchase.plan.agency_seats}
            )
        holder = get_user_model().objects.filter(email__iexact=email, is_active=True).first()
        owner = {"subscription": purchase} if model is MemberSubscription else {"payment": purchase}
        try:
            with transaction.atomic():
                seat = MembershipSeat.objects.create(
                    email=email, user=holder, assigned_by=actor, created_at=now, **owner
                )
        except IntegrityError as error:
            raise PaymentError(
                _("%(email)s already has a seat of this membership.") % {"email": email}
            ) from error
        record("membership.seat_given", seat, actor=actor, after={"email": email})
        if holder is not None:
            _grant_latest(purchase, holder, now)
        _tell_colleague(seat, purchase, has_account=holder is not None)
    return seat


def _grant_latest(purchase, holder, now):
    """A seat given after payment gets the period paid most recently, from today."""
    paid = _latest_paid(purchase)
    if paid is None:
        return
    source = PeriodSource.INVOICE if paid.method == "invoice" else PeriodSource.PURCHASE
    periods.add_period(
        holder,
        group_id=paid.plan.group_id,
        months=paid.plan.months,
        source=source,
        reference=f"{_reference_of(paid)}:seat-holder:{holder.pk}",
        now=now,
        actor=None,
    )


def _tell_colleague(seat, purchase, *, has_account):
    send_membership_email(
        "payments/email/membership_seat",
        _Person(seat.email, seat.user),
        {
            "seat": seat,
            "buyer": purchase.user,
            "plan": purchase.plan,
            "paid": _latest_paid(purchase) is not None,
            "has_account": has_account,
            "signup_url": absolute_reverse("account_signup"),
            "membership_url": absolute_reverse("payments:membership"),
        },
        key=f"payments:membership-seat:{seat.pk}",
    )


class _Person:
    """Who a seat's email goes to: the account, or just the address given."""

    def __init__(self, email, user):
        self.email = email
        self.legal_name = user.legal_name if user else ""


def claim_seats(user, email, *, now=None):
    """`email` was confirmed by `user`: the seats waiting for it become theirs, with the
    period their purchase paid most recently."""
    now = now or timezone.now()
    waiting = MembershipSeat.objects.filter(email__iexact=email, user__isnull=True)
    for seat_id in waiting.values_list("pk", flat=True):
        with transaction.atomic():
            seat = lock_one(MembershipSeat, seat_id)
            if seat.user_id is not None:
                continue
            seat.user = user
            seat.save(update_fields=["user"])
            record("membership.seat_claimed", seat, actor=user)
            _grant_latest(seat.subscription or seat.payment, user, now)
