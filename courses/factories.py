"""Factories for courses tests: events with a schedule and tickets, users, bookings."""

from datetime import timedelta

import factory
import wagtail_factories
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from cms.factories import home_page
from courses import services
from courses.models import (
    AddOn,
    EventFormat,
    EventIndexPage,
    EventPage,
    EventSession,
    MembershipPlan,
    Presenter,
    TicketType,
)


class UserFactory(factory.django.DjangoModelFactory):
    email = factory.Sequence(lambda n: f"attendee{n}@example.org")
    legal_name = factory.Sequence(lambda n: f"Attendee Number {n}")
    profession = "Licensed mental health counselor"
    password = factory.django.Password("correct horse battery staple")

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True


class PresenterFactory(factory.django.DjangoModelFactory):
    name = "David Prescott"
    credentials = "LICSW"
    bio = "<p>A leading authority on feedback-informed treatment.</p>"

    class Meta:
        model = Presenter


class EventIndexPageFactory(wagtail_factories.PageFactory):
    title = "Events"
    slug = "events"

    class Meta:
        model = EventIndexPage


class EventPageFactory(wagtail_factories.PageFactory):
    title = factory.Sequence(lambda n: f"FIT Workshop {n}")
    format = EventFormat.WORKSHOP
    summary = "Three days of Feedback-Informed Treatment practice."
    capacity = 30
    time_zone = "America/Chicago"
    venue_name = "Conference Center"
    venue_address = "100 Main Street\nChicago, IL"

    class Meta:
        model = EventPage


def events_index():
    """The one events index, under the site's home page."""
    existing = EventIndexPage.objects.first()
    if existing:
        return existing
    return EventIndexPageFactory(parent=home_page())


def make_event(
    *,
    days=1,
    starts_in=timedelta(days=30),
    session_hours=6,
    sessions=None,
    price=0,
    ticket_capacity=None,
    capacity=30,
    add_ons=(),
    **fields,
):
    """The one event builder: a published event page with a schedule and one ticket type.

    By default one session a day (9:00 local, `session_hours` long) for `days` days, starting
    `starts_in` from now. `sessions` replaces that schedule with a list of
    (title, start, minutes, ce_minutes). `add_ons` is a list of (name, price, grants_ce).
    """
    event = EventPageFactory.build(capacity=capacity, **fields)
    if sessions is None:
        first = timezone.localtime(timezone.now() + starts_in, event.zone).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        sessions = [
            (f"Day {day + 1}", first + timedelta(days=day), session_hours * 60, session_hours * 60)
            for day in range(days)
        ]
    event.sessions = [
        EventSession(
            title=title,
            start=start,
            end=start + timedelta(minutes=minutes),
            ce_minutes=ce_minutes,
            sort_order=order,
        )
        for order, (title, start, minutes, ce_minutes) in enumerate(sessions)
    ]
    event.ticket_types = [
        TicketType(name="Standard", price=price, capacity=ticket_capacity, max_per_order=10)
    ]
    event.add_ons = [AddOn(name=n, price=p, grants_ce=ce) for n, p, ce in add_ons]
    events_index().add_child(instance=event)
    event.save_revision().publish()
    event.refresh_from_db()
    return event


def make_plan(group=None, *, months=12, price=12000, name="Member site, 1 year", **fields):
    """A membership plan (an event's included year, or one for sale), of a new member group
    unless `group` is given."""
    group = group or Group.objects.get_or_create(name="Member site")[0]
    return MembershipPlan.objects.create(
        name=name, price=price, months=months, group=group, **fields
    )


def ticket(event, **fields):
    """Add another ticket type to `event`."""
    return TicketType.objects.create(event=event, **{"name": "Other", "price": 0, **fields})


def register_with_ce(event, user):
    """Register `user` for one Standard seat with CE requested, confirmed through the services.

    The hold is placed the day before the event starts, so past events can be registered for.
    """
    booking = services.place_hold(
        now=event.starts_at - timedelta(days=1),
        event=event,
        purchaser=user,
        tickets={event.ticket_types.get().pk: 1},
        attendees=[
            {"attendee_name": user.legal_name, "attendee_email": user.email, "wants_ce": True}
        ],
    )
    services.confirm_registrations(booking)
    return booking
