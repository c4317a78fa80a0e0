"""The cancellation and refund policy in the words buyers read, and the exact refund one
attendee would get by cancelling now: computed by `cancellation_refund_amount`, the same
function that makes the refund, so the page never promises what the refund does not pay."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from cms.dates import long_date
from cms.money import format_money
from payments.models import EventPaymentSettings, Order

from .refunds import cancellation_refund_amount, paid_share_of, seat_amount


@dataclass(frozen=True)
class RefundPolicy:
    """When an attendee who cancels gets everything back, part of it, or nothing."""

    full_refund_until: object  # aware datetime: cancel before it for a full refund
    no_refund_from: object  # aware datetime: from here on nothing is refunded
    fee: int  # kept between the two, in minor units
    currency: str
    online_cancel_until: object  # aware datetime or None: the cancel button's cut-off
    zone: object

    def _day(self, moment):
        return long_date(moment.astimezone(self.zone).date())

    def sentences(self):
        """The policy in plain words, one sentence per rule, dates in the event's zone."""
        full_until = self._day(self.full_refund_until - timedelta(seconds=1))
        lines = [_("Cancel by %(date)s for a full refund.") % {"date": full_until}]
        if self.no_refund_from > self.full_refund_until:
            last_partial = self._day(self.no_refund_from - timedelta(seconds=1))
            if self.fee:
                lines.append(
                    _("From then until %(date)s, we refund what you paid minus a %(fee)s fee.")
                    % {"date": last_partial, "fee": format_money(self.fee, self.currency)}
                )
            else:
                lines.append(
                    _("Until %(date)s you still get a full refund.") % {"date": last_partial}
                )
        lines.append(
            _("After that there is no refund, but you can transfer your seat to a colleague.")
            if self.online_cancel_until
            else _("After that there is no refund.")
        )
        if self.online_cancel_until:
            lines.append(
                _("Cancel or transfer online under My registrations until %(date)s.")
                % {"date": self._day(self.online_cancel_until)}
            )
        return lines


def sells_paid_seats(event, ticket_types=None, add_ons=None):
    """True when anything on the event costs money (a paid ticket or a priced add-on)."""
    tickets = event.ticket_types.all() if ticket_types is None else ticket_types
    extras = event.add_ons.all() if add_ons is None else add_ons
    return any(not t.is_free for t in tickets) or any(a.price for a in extras)


def refund_policy(event, *, ticket_types=None, add_ons=None):
    """The event's refund policy, or None for a free event or one without a start."""
    if not event.starts_at or not sells_paid_seats(event, ticket_types, add_ons):
        return None
    settings = EventPaymentSettings.for_event(event)
    return RefundPolicy(
        full_refund_until=event.starts_at - timedelta(days=settings.full_refund_days_before),
        no_refund_from=event.starts_at - timedelta(days=settings.no_refund_days_before),
        fee=settings.cancellation_fee,
        currency=event.currency,
        online_cancel_until=event.cancellation_deadline,
        zone=event.zone,
    )


@dataclass(frozen=True)
class CancellationQuote:
    """What cancelling one seat now gives back."""

    paid: int  # the seat's share of what was paid
    refund: int
    currency: str
    settled: bool  # False: nothing was paid yet (an unpaid invoice), so nothing to refund

    @property
    def kept(self):
        return max(0, self.paid - self.refund)

    def money(self, amount):
        return format_money(amount, self.currency)


def cancellation_quote(registration, *, now=None):
    """The refund `registration`'s buyer gets by cancelling it now (None: nothing was sold)."""
    now = now or timezone.now()
    order = Order.objects.filter(booking_id=registration.booking_id).first()
    if order is None or not order.total:
        return None
    seat = seat_amount(registration)
    paid_share = paid_share_of(order, seat)
    if not order.is_settled or not order.amount_paid:
        return CancellationQuote(paid_share, 0, order.currency, settled=False)
    amount = cancellation_refund_amount(order, seat, now=now)
    amount = max(0, min(amount, order.refundable_amount))
    return CancellationQuote(paid_share, amount, order.currency, settled=True)


def policy_refund_for_order(order, *, now=None):
    """What the event's policy gives back now if every seat still held is cancelled: the
    amount Finance's refund form starts from (never more than can be refunded)."""
    # Each seat's add-ons come with the seats: one query, not one per seat.
    seats = order.booking.registrations.prefetch_related("add_on_lines")
    registrations = [r for r in seats if r.is_confirmed]
    total = 0
    for registration in registrations:
        total += cancellation_refund_amount(order, seat_amount(registration), now=now)
    return max(0, min(total, order.refundable_amount))
