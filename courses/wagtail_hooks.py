"""Registers the event staff screens (courses.viewsets) with the Wagtail admin, and tells
event staff on the admin home which upcoming events still have seats and which bookings
wait for their approval."""

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail import hooks

from cms.access import Perm, can
from cms.attention import HOOK, AttentionItem
from courses.models import ApprovalStatus, Booking, BookingStatus, EventPage
from courses.viewsets import EventAdminGroup, capacity_rows

# How many upcoming events the admin home lists.
UPCOMING_SHOWN = 5


@hooks.register("register_admin_viewset")
def register_event_admin():
    return EventAdminGroup()


@hooks.register(HOOK)
def upcoming_events_and_approvals(user):
    if not can(user, Perm.MANAGE_REGISTRATIONS):
        return []
    now = timezone.now()
    overview = reverse("courses_admin:overview")
    items = []
    pending = Booking.objects.filter(
        approval_status=ApprovalStatus.PENDING, status=BookingStatus.HELD
    ).count()
    if pending:
        items.append(
            AttentionItem(
                ngettext(
                    "%(count)d registration waits for your approval",
                    "%(count)d registrations wait for your approval",
                    pending,
                )
                % {"count": pending},
                overview,
                tone="warning",
            )
        )
    events = EventPage.objects.live().filter(starts_at__gt=now).order_by("starts_at")
    for row in capacity_rows(events[:UPCOMING_SHOWN], now):
        items.append(
            AttentionItem(
                _("%(title)s, %(date)s")
                % {"title": row["event"].title, "date": date_format(row["starts"], "j M Y")},
                overview,
                detail=_seats_detail(row),
                tone="warning" if row["left"] == 0 and row["waiting"] else "info",
            )
        )
    return items


def _seats_detail(row):
    seats = ngettext(
        "%(left)d of %(capacity)d seat left",
        "%(left)d of %(capacity)d seats left",
        row["capacity"],
    ) % {"left": row["left"], "capacity": row["capacity"]}
    if not row["waiting"]:
        return seats
    waiting = ngettext(
        "%(count)d person on the waitlist", "%(count)d people on the waitlist", row["waiting"]
    ) % {"count": row["waiting"]}
    return f"{seats} · {waiting}"
