"""One membership per person, made of periods that never overlap and never count twice: the
conference's included year, a year bought, the same grant arriving twice, a seat cancelled."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from cms.audit import history
from cms.dates import add_months
from courses import services
from courses.factories import UserFactory, make_event, make_plan
from courses.models import Membership, MembershipPeriod, PeriodSource

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    return Group.objects.create(name="Member site subscribers")


def _confirmed(event, user):
    booking = services.place_hold(
        event=event, purchaser=user, tickets={event.ticket_types.get().pk: 1}
    )
    services.confirm_registrations(booking)
    return booking.registrations.get()


def _buy_year(user, group, reference, now):
    return services.add_period(
        user,
        group_id=group.pk,
        months=12,
        source=PeriodSource.PURCHASE,
        reference=reference,
        now=now,
        actor=user,
    )


def test_a_year_bought_during_the_conference_year_starts_when_that_year_ends(group):
    member = UserFactory(email="ilse@example.org")
    conference = make_event(included_membership=make_plan(group))
    registration = _confirmed(conference, member)
    included = MembershipPeriod.objects.get(registration=registration)
    bought_at = included.starts_at + timedelta(days=40)

    bought = _buy_year(member, group, "stripe_invoice:in_1", bought_at)

    assert bought.starts_at == included.ends_at  # no overlap, nothing counted twice
    assert bought.ends_at == add_months(included.ends_at, 12)
    membership = Membership.objects.get(user=member)
    assert membership.access_until == bought.ends_at
    assert membership.periods.count() == 2
    assert member.groups.filter(pk=group.pk).exists()


def test_the_same_grant_twice_adds_one_period(group):
    member = UserFactory()
    now = timezone.now()

    first = _buy_year(member, group, "stripe_invoice:in_2", now)
    again = _buy_year(member, group, "stripe_invoice:in_2", now + timedelta(minutes=5))

    assert again.pk == first.pk
    assert MembershipPeriod.objects.filter(membership__user=member).count() == 1
    assert Membership.objects.get(user=member).access_until == add_months(now, 12)


def test_a_cancelled_conference_seat_takes_its_year_back_and_the_bought_year_moves_up(group):
    member = UserFactory()
    conference = make_event(included_membership=make_plan(group), starts_in=timedelta(days=60))
    registration = _confirmed(conference, member)
    bought_at = timezone.now()  # bought after the conference's year was granted
    bought = _buy_year(member, group, "order:ORD-1", bought_at)
    assert bought.starts_at > add_months(bought_at, 11)  # queued behind the included year

    services.cancel_registration(registration, actor=member)

    included = MembershipPeriod.objects.get(registration=registration)
    assert included.revoked_at is not None
    bought.refresh_from_db()
    assert (bought.starts_at, bought.ends_at) == (bought_at, add_months(bought_at, 12))
    assert Membership.objects.get(user=member).access_until == bought.ends_at
    assert member.groups.filter(pk=group.pk).exists()  # the bought year still covers today
    actions = [entry.action for entry in history(Membership.objects.get(user=member))]
    assert "courses.membership.period_revoked" in actions


def test_access_ends_with_the_last_period_not_before(group):
    member = UserFactory()
    now = timezone.now()
    _buy_year(member, group, "order:ORD-2", now)
    _buy_year(member, group, "order:ORD-3", now + timedelta(days=100))  # chained: ends in 2 years

    assert services.lapse_memberships(now=now + timedelta(days=400)) == 0
    assert member.groups.filter(pk=group.pk).exists()
    assert services.lapse_memberships(now=now + timedelta(days=740)) == 1
    assert not member.groups.filter(pk=group.pk).exists()
    assert services.lapse_memberships(now=now + timedelta(days=741)) == 0  # once
