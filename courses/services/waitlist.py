"""The waitlist: joining and leaving it, offering freed seats in turn, and offers that lapse.

A claimed offer becomes a hold in `holds.place_hold` (with the offer's `claim_token`).
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms.audit import record
from cms.locking import locked
from courses import capacity, emails
from courses.models import WaitlistEntry, WaitlistStatus, new_token

from .common import is_event_staff, snapshot
from .errors import InvalidSelection, NotAllowed, RegistrationClosed


def waitlist_offer_for(token, user, event, now):
    """The person's open offer behind a claim link; otherwise the refusal says what became
    of it (lapsed, already used, withdrawn), so nobody is told a lapsed offer is "not
    valid for your account"."""
    entry = (
        WaitlistEntry.objects.select_related("event").filter(claim_token=token).first()
        if token
        else None
    )
    if entry is None or entry.user_id != user.pk or (event and entry.event_id != event.pk):
        raise NotAllowed(_("This seat offer is not valid for your account."))
    if entry.status == WaitlistStatus.CLAIMED:
        raise RegistrationClosed(
            _("You have already claimed this seat: it is on My registrations.")
        )
    if entry.status == WaitlistStatus.CANCELLED:
        raise RegistrationClosed(_("You left this waitlist, so the offer was withdrawn."))
    if not entry.offer_is_open(now):
        lapsed = entry.event.local(entry.offer_expires_at) if entry.offer_expires_at else None
        raise RegistrationClosed(
            _(
                "This seat offer lapsed on %(when)s and passed to the next person on the "
                "waitlist. You can join the waitlist again from the event page."
            )
            % {"when": date_format(lapsed, "j F Y, g:i A T")}
            if lapsed
            else _("This seat offer has lapsed and passed to the next person on the waitlist.")
        )
    return entry


def get_waitlist_offer(token, user, now=None):
    """The open offer behind a claim link, for the claim page; raises if it is not claimable."""
    return waitlist_offer_for(token, user, None, now or timezone.now())


def join_waitlist(event, *, user, ticket_type=None, now=None):
    """Put `user` on a full event's waitlist (once); returns the entry."""
    now = now or timezone.now()
    if not event.registration_is_open(now):
        raise RegistrationClosed(_("Registration for this event is closed."))
    if ticket_type is not None and ticket_type.event_id != event.pk:
        raise InvalidSelection(_("That ticket is not offered for this event."))
    existing = WaitlistEntry.objects.filter(
        event=event, user=user, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
    ).first()
    if existing:
        return existing
    if (
        capacity.event_seats_left(event, now) > 0
        and not WaitlistEntry.objects.filter(event=event, status=WaitlistStatus.WAITING).exists()
    ):
        raise InvalidSelection(_("Seats are still available: you can register now."))
    with transaction.atomic():
        entry = WaitlistEntry.objects.create(event=event, user=user, ticket_type=ticket_type)
        record(
            "courses.waitlist.joined", entry, actor=user, after={"status": WaitlistStatus.WAITING}
        )
    return entry


def leave_waitlist(entry, *, actor, now=None):
    now = now or timezone.now()
    if entry.user_id != actor.pk and not is_event_staff(actor):
        raise NotAllowed(_("You can only leave your own waitlist place."))
    if entry.status not in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED):
        return entry
    was_offered = entry.status == WaitlistStatus.OFFERED
    with transaction.atomic():
        before = snapshot(entry)
        entry.status = WaitlistStatus.CANCELLED
        entry.save(update_fields=["status"])
        record("courses.waitlist.left", entry, actor=actor, before=before, after=snapshot(entry))
    if was_offered:
        offer_waitlist_seats(entry.event, now=now)
    return entry


def offer_waitlist_seats(event, *, now=None):
    """Offer each free seat to the next person waiting; the offer holds the seat for them
    for the event's offer window. Returns the entries offered."""
    now = now or timezone.now()
    with transaction.atomic():
        capacity.lock_capacity(event)
        free = capacity.event_seats_left(event, now)
        if free <= 0:
            return []
        entries = locked(
            WaitlistEntry.objects.filter(event=event, status=WaitlistStatus.WAITING)
            .select_related("user")
            .order_by("created_at", "id")[:free],
            of=("self",),
        )
        for entry in entries:
            entry.status = WaitlistStatus.OFFERED
            entry.offered_at = now
            entry.offer_expires_at = now + timedelta(hours=event.waitlist_offer_hours)
            entry.claim_token = new_token()
            entry.save(update_fields=["status", "offered_at", "offer_expires_at", "claim_token"])
            record(
                "courses.waitlist.offered",
                entry,
                after={
                    "status": WaitlistStatus.OFFERED,
                    "offer_expires_at": entry.offer_expires_at.isoformat(),
                },
            )
    for entry in entries:
        emails.send_waitlist_offer(entry)
    return entries


def expire_waitlist_offers(now=None):
    """Unclaimed offers past their time lapse; their seats pass to the next person."""
    now = now or timezone.now()
    events = set()
    lapsed = WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED, offer_expires_at__lte=now)
    for entry in lapsed.select_related("event", "user"):
        with transaction.atomic():
            # Only the run that moves the offer records it (two beats may find it at once).
            if not lapsed.filter(pk=entry.pk).update(status=WaitlistStatus.EXPIRED):
                continue
            entry.status = WaitlistStatus.EXPIRED
            record(
                "courses.waitlist.expired",
                entry,
                before={"status": WaitlistStatus.OFFERED},
                after={"status": WaitlistStatus.EXPIRED},
            )
            emails.send_waitlist_offer_lapsed(entry, now)
        events.add(entry.event)
    for event in events:
        offer_waitlist_seats(event, now=now)
    return len(events)
