"""Registers the event staff screens (courses.viewsets) with the Wagtail admin, and tells
event staff on the admin home which upcoming events still have seats, which bookings wait
for their approval, and which scheduled publications were refused."""

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail import hooks
from wagtail.log_actions import LogFormatter

from cms.access import Perm, can
from cms.attention import HOOK, AttentionItem
from courses import on_demand_admin, publishing
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


@hooks.register("register_log_actions")
def register_go_live_refused(actions):
    @actions.register_action(publishing.GO_LIVE_REFUSED)
    class GoLiveRefused(LogFormatter):
        label = _("Scheduled publication refused")

        def format_message(self, log_entry):
            return _("Scheduled publication refused: %(reason)s") % {
                "reason": log_entry.data.get("reason", "")
            }


@hooks.register(HOOK)
def refused_scheduled_publications(user):
    """A scheduled publication that did not happen, so someone publishes the event by hand."""
    if not (can(user, Perm.MANAGE_REGISTRATIONS) or can(user, Perm.MANAGE_CE_SETUP)):
        return []
    return [
        AttentionItem(
            _("%(title)s was not published at its scheduled time")
            % {"title": entry.page.get_admin_display_title()},
            reverse("wagtailadmin_pages:edit", args=[entry.page_id]),
            detail=entry.data.get("reason", ""),
            tone="warning",
        )
        for entry in publishing.refused_go_lives()
    ]


@hooks.register("register_admin_urls")
def register_on_demand_copy():
    return on_demand_admin.urlpatterns


@hooks.register("register_page_header_buttons")
def on_demand_copy_button(page, user, view_name, next_url=None):
    """On a past live webinar's page: make an on-demand course from it."""
    yield on_demand_admin.OnDemandCopyButton(page=page)
