"""Member-area access that comes with a seat: granted on confirmation, revoked on cancel or
transfer, lapsed when its period ends (Celery beat runs `lapse_memberships_task`)."""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cms.audit import record
from cms.dates import add_months
from cms.locking import locked
from courses.models import MembershipGrant


def grant_membership(registration, now, actor):
    event = registration.event
    if not event.member_group_id or not event.membership_months or not registration.attendee_id:
        return None
    grant, created = MembershipGrant.objects.get_or_create(
        registration=registration,
        defaults={
            "user_id": registration.attendee_id,
            "group_id": event.member_group_id,
            "starts_at": now,
            "expires_at": add_months(now, event.membership_months),
        },
    )
    if created:
        registration.attendee.groups.add(event.member_group_id)
        record(
            "courses.membership.granted",
            grant,
            actor=actor,
            after={"expires_at": grant.expires_at.isoformat()},
        )
    return grant


def _remove_from_group_unless_covered(user_id, group_id, now):
    still_covered = MembershipGrant.objects.filter(
        user_id=user_id, group_id=group_id, revoked_at__isnull=True, expires_at__gt=now
    ).exists()
    if not still_covered:
        get_user_model().groups.through.objects.filter(user_id=user_id, group_id=group_id).delete()


def revoke_membership(registration, now, actor):
    grant = MembershipGrant.objects.filter(
        registration=registration, revoked_at__isnull=True
    ).first()
    if grant is None:
        return
    grant.revoked_at = now
    grant.save(update_fields=["revoked_at"])
    _remove_from_group_unless_covered(grant.user_id, grant.group_id, now)
    record("courses.membership.revoked", grant, actor=actor, after={"revoked_at": now.isoformat()})


def lapse_memberships(now=None):
    """Take people out of member groups when their last grant has run out (Celery beat).
    Each grant lapses once, in its own transaction, even when two runs overlap."""
    now = now or timezone.now()
    due = MembershipGrant.objects.filter(expires_at__lte=now, lapsed_at__isnull=True)
    lapsed = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            # SKIP LOCKED: a grant another run (a second beat) is lapsing is left to it.
            rows = locked(due.filter(pk=pk), skip_locked=True)
            if not rows:
                continue
            grant = rows[0]
            _remove_from_group_unless_covered(grant.user_id, grant.group_id, now)
            grant.lapsed_at = now
            grant.save(update_fields=["lapsed_at"])
            record("courses.membership.lapsed", grant, after={"lapsed_at": now.isoformat()})
        lapsed += 1
    return lapsed


@shared_task(name="courses.tasks.lapse_memberships")
def lapse_memberships_task():
    """Hourly (beat): remove member-area access whose period has ended."""
    return lapse_memberships()
