"""Factories for courses tests: events with a schedule and tickets, users, bookings."""

from datetime import timedelta

import factory
import wagtail_factories
from django.contrib.auth import get_user_model
from django.utils import timezone

from cms.factories import home_page
from courses.models import (
    AddOn,
    EventFormat,
    EventIndexPage,
    EventPage,
    EventSession,
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
    price=0,
    ticket_capacity=None,
    capacity=30,
    add_ons=(),
    **fields,
):
    """A published event with one session a day (9:00 local) and one ticket type.

    `add_ons` is a list of (name, price, grants_ce).
    """
    event = EventPageFactory.build(capacity=capacity, **fields)
    first = timezone.localtime(timezone.now() + starts_in, event.zone).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    event.sessions = [
        EventSession(
            title=f"Day {day + 1}",
            start=first + timedelta(days=day),
            end=first + timedelta(days=day, hours=session_hours),
            ce_minutes=session_hours * 60,
        )
        for day in range(days)
    ]
    event.ticket_types = [
        TicketType(name="Standard", price=price, capacity=ticket_capacity, max_per_order=10)
    ]
    event.add_ons = [AddOn(name=n, price=p, grants_ce=ce) for n, p, ce in add_ons]
    events_index().add_child(instance=event)
    event.save_revision().publish()
    event.refresh_from_db()
    return event


def ticket(event, **fields):
    """Add another ticket type to `event`."""
    return TicketType.objects.create(event=event, **{"name": "Other", "price": 0, **fields})
