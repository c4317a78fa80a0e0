"""Membership of the member site: periods added to a person's one record, and access (the
plan's group) kept in step with them.

- `add_period` is the one way in: a year included with an event (`grant_membership`, on
  confirmation or a claimed seat), and later a year bought, renewed or paid by invoice. The
  same `reference` twice adds one period.
- `revoke_period` takes a period back (a cancelled or transferred seat); the periods granted
  after it move up, so nobody keeps a year they were not given, nor loses one they were.
- `lapse_memberships` (Celery beat, hourly) takes people out of the group when their last
  period has ended.

See courses.models.membership for how periods are chained.
"""

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from wagtail.models import Site

from cms.audit import record
from cms.dates import add_months
from cms.email import send_templated_email
from cms.library import library_for_site
from cms.links import absolute_url
from cms.locking import lock_one, locked
from courses.models import Membership, MembershipPeriod, PeriodSource


def _reference(registration):
    return f"registration:{registration.pk}"


def grant_membership(registration, now, actor):
    """The member-site year an event includes, for a confirmed seat's attendee."""
    plan = registration.event.included_membership
    if plan is None or not registration.attendee_id:
        return None
    return add_period(
        registration.attendee,
        group_id=plan.group_id,
        months=plan.months,
        source=PeriodSource.EVENT,
        reference=_reference(registration),
        registration=registration,
        now=now,
        actor=actor,
    )


def revoke_membership(registration, now, actor):
    """The year a cancelled or transferred seat included is taken back."""
    period = MembershipPeriod.objects.filter(
        reference=_reference(registration), revoked_at__isnull=True
    ).first()
    if period is not None:
        revoke_period(period, now=now, actor=actor)


def _membership_for(user, group_id):
    """The person's membership, locked for this transaction (created the first time)."""
    membership, _ = Membership.objects.get_or_create(user=user, defaults={"group_id": group_id})
    return lock_one(Membership, membership.pk)


def add_period(user, *, group_id, months, source, reference, now, actor, **fields):
    """Add `months` of membership granted now by `reference` (once) and return the period."""
    with transaction.atomic():
        membership = _membership_for(user, group_id)
        existing = MembershipPeriod.objects.filter(reference=reference).first()
        if existing is not None:
            return existing  # the same grant again: a retried confirmation or webhook
        period = MembershipPeriod.objects.create(
            membership=membership,
            source=source,
            reference=reference,
            granted_at=now,
            months=months,
            starts_at=now,
            ends_at=add_months(now, months),
            **fields,
        )
        _chain(membership)
        period.refresh_from_db()
        record(
            "courses.membership.period_added",
            membership,
            actor=actor,
            after={
                "source": source,
                "reference": reference,
                "starts_at": period.starts_at.isoformat(),
                "ends_at": period.ends_at.isoformat(),
            },
        )
        _follow_periods(membership, now)
    return period


def revoke_period(period, *, now, actor):
    with transaction.atomic():
        membership = lock_one(Membership, period.membership_id)
        period = MembershipPeriod.objects.get(pk=period.pk)
        if period.revoked_at is not None:
            return period
        period.revoked_at = now
        period.save(update_fields=["revoked_at"])
        _chain(membership)
        record(
            "courses.membership.period_revoked",
            membership,
            actor=actor,
            after={"reference": period.reference, "revoked_at": now.isoformat()},
        )
        _follow_periods(membership, now)
    return period


def _chain(membership):
    """Place each current period after the ones granted before it: it starts when it was
    granted or when the one before it ends, whichever is later."""
    previous_end = None
    for period in membership.current_periods().order_by("granted_at", "pk"):
        starts = max(period.granted_at, previous_end) if previous_end else period.granted_at
        ends = add_months(starts, period.months)
        if (starts, ends) != (period.starts_at, period.ends_at):
            period.starts_at, period.ends_at = starts, ends
            period.save(update_fields=["starts_at", "ends_at"])
        previous_end = ends


def is_member(membership, now):
    """A period covers `now`, or a failed renewal's grace period does."""
    if in_grace(membership, now):
        return True
    return membership.current_periods().filter(starts_at__lte=now, ends_at__gt=now).exists()


def in_grace(membership, now):
    return membership.grace_until is not None and membership.grace_until > now


def start_grace(user, length, *, now, actor=None):
    """A renewal failed: keep access for `length` after the last period ends (or after now,
    if that is later) while the payment is retried. Returns when the grace ends; starting it
    again (Stripe's next failed try) never moves it later."""
    with transaction.atomic():
        membership = lock_one(Membership, Membership.objects.get(user=user).pk)
        if membership.grace_until is None:
            last = membership.current_periods().order_by("-ends_at").first()
            base = max(last.ends_at, now) if last else now
            membership.grace_until = base + length
            membership.save(update_fields=["grace_until"])
            record(
                "courses.membership.grace_started",
                membership,
                actor=actor,
                after={"grace_until": membership.grace_until.isoformat()},
            )
        _follow_periods(membership, now)
    return membership.grace_until


def end_grace(user, *, now, actor=None):
    """The renewal was paid (a period follows) or given up: the grace period ends now."""
    with transaction.atomic():
        found = Membership.objects.filter(user=user).values_list("pk", flat=True).first()
        if found is None:
            return
        membership = lock_one(Membership, found)
        if membership.grace_until is None:
            return
        membership.grace_until = None
        membership.save(update_fields=["grace_until"])
        record("courses.membership.grace_ended", membership, actor=actor)
        _follow_periods(membership, now)


def member_at(user, now=None):
    """Whether `user` is a member at `now`: one of their periods covers it, or a failed
    renewal's grace period does (as `is_member`). One query, by the periods themselves (not
    the group, which follows them only after the hourly lapse), so a price is never given on
    access that has ended but not yet been taken away."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    now = now or timezone.now()
    covering = MembershipPeriod.objects.filter(
        membership=OuterRef("pk"), revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now
    )
    return (
        Membership.objects.filter(user_id=user.pk)
        .filter(Q(grace_until__gt=now) | Exists(covering))
        .exists()
    )


def join_url(request=None):
    """Where a person becomes a member: the members' library, whose page tells a non-member
    what membership includes and how to join ("" when the site has no library)."""
    site = Site.find_for_request(request) if request is not None else None
    site = site or Site.objects.filter(is_default_site=True).first()
    library = library_for_site(site)
    if library is None:
        return ""
    return library.get_url(request=request) or ""


def _follow_periods(membership, now):
    """Put the person in the group while a period covers `now`, out of it otherwise."""
    last = membership.current_periods().order_by("-ends_at").first()
    ends = [moment for moment in (last.ends_at if last else None, membership.grace_until) if moment]
    membership.access_until = max(ends) if ends else None
    membership.save(update_fields=["access_until"])
    # Through the relation (not its table) so m2m_changed tells the caches that follow
    # group membership (the menu's library link, the admin link).
    user = membership.user
    if is_member(membership, now):
        user.groups.add(membership.group_id)
    else:
        user.groups.remove(membership.group_id)


def lapse_memberships(now=None):
    """Take people out of the member group when their last period has ended (Celery beat).
    Each membership lapses once, in its own transaction, even when two runs overlap."""
    now = now or timezone.now()
    in_group = get_user_model().groups.through.objects.filter(
        user_id=OuterRef("user_id"), group_id=OuterRef("group_id")
    )
    due = Membership.objects.filter(access_until__lte=now).filter(Exists(in_group))
    lapsed = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            # SKIP LOCKED: a membership another run (a second beat) is lapsing is left to it.
            rows = locked(Membership.objects.filter(pk=pk), skip_locked=True)
            if not rows or is_member(rows[0], now):
                continue
            membership = rows[0]
            _follow_periods(membership, now)
            ended = membership.access_until
            record(
                "courses.membership.lapsed",
                membership,
                after={"ended_at": ended.isoformat() if ended else ""},
            )
            _tell_lapsed(membership, ended)
        lapsed += 1
    return lapsed


def _tell_lapsed(membership, ended):
    """The membership ended (its last period, or a failed renewal's grace): say so, and how
    to join again. Once per end date."""
    user = membership.user
    url = join_url()
    send_templated_email(
        "courses/email/membership_ended",
        [user.email],
        {"person": user, "ended": ended, "join_url": url if "://" in url else absolute_url(url)},
        key=f"courses:membership-ended:{membership.pk}:{ended.isoformat() if ended else ''}",
    )


@shared_task(name="courses.tasks.lapse_memberships")
def lapse_memberships_task():
    """Hourly (beat): remove member-site access whose last period has ended."""
    return lapse_memberships()
