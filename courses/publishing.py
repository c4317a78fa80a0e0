"""An event's scheduled go-live is checked when it happens, not only when it was scheduled.

Between scheduling a publication and its time coming, what the page promises may stop being
true (a CE offering deleted, say). Wagtail's `publish_scheduled` command publishes each due
revision with no request and nobody watching, so the event page refuses it itself: apps give
their rule through the Wagtail hook `EVENT_GO_LIVE_HOOK` (a function taking the event as the
revision would publish it, returning a message to refuse or None). A refused go-live:

- publishes nothing, and drops the schedule, so the command does not try again every run;
- is written to the page's history with its reason ("Scheduled publication refused: ...");
- shows on the admin home of event and CE staff until the page is published.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from wagtail import hooks
from wagtail.log_actions import log
from wagtail.models import PageLogEntry, Revision

EVENT_GO_LIVE_HOOK = "refuse_event_go_live"
# The log action Wagtail's `publish_scheduled` passes to `publish` for a due revision.
SCHEDULED_GO_LIVE = "wagtail.publish.scheduled"
GO_LIVE_REFUSED = "courses.go_live_refused"
# How long a refused go-live stays on the admin home when nobody acts on it.
REFUSALS_SHOWN_FOR = timedelta(days=30)

logger = logging.getLogger(__name__)


def go_live_refusal(revision):
    """Why `revision` of an event may not go live now, or None."""
    event = revision.as_object()
    for refuse in hooks.get_hooks(EVENT_GO_LIVE_HOOK):
        message = refuse(event)
        if message:
            return message
    return None


def refuse_go_live(event, revision, reason):
    with transaction.atomic():
        Revision.objects.filter(pk=revision.pk).update(approved_go_live_at=None)
        log(instance=event, action=GO_LIVE_REFUSED, revision=revision, data={"reason": reason})
    logger.warning("scheduled publication of page %s refused: %s", event.pk, reason)


def refused_go_lives(now=None):
    """The latest refused go-live of each event not published since, newest first."""
    now = now or timezone.now()
    entries = (
        PageLogEntry.objects.filter(action=GO_LIVE_REFUSED, timestamp__gte=now - REFUSALS_SHOWN_FOR)
        .select_related("page")
        .order_by("-timestamp")
    )
    latest = {}
    for entry in entries:
        page = entry.page
        if page is None or page.pk in latest:
            continue
        if page.last_published_at and page.last_published_at > entry.timestamp:
            continue  # published since: fixed
        latest[page.pk] = entry
    return list(latest.values())
