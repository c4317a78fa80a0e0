"""Builders for CE tests, the demo and the benchmark: events, registrations, approvals."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from courses import factories as courses_factories
from courses.models import (
    Booking,
    BookingStatus,
    EventPage,
    Registration,
    RegistrationStatus,
)

from .models import AccreditingBody, CEOffering, CESponsor, CreditBasis, EventCESettings


def make_event(
    title="Feedback-Informed Treatment Workshop",
    *,
    sessions=None,
    time_zone="America/New_York",
    format="workshop",
    starts=None,
    slug=None,
    venue_name="Hilton Garden Inn",
    venue_address="1 Main Street\nTampa, FL",
):
    """A CE workshop that ended two days ago: three sessions of 90, 90 and 120 CE minutes.

    Built by courses' event builder; `sessions` lists (title, start, minutes, ce_minutes).
    """
    starts = starts or (timezone.now() - timedelta(days=2)).replace(
        hour=13, minute=0, second=0, microsecond=0
    )
    if sessions is None:
        sessions = [
            ("Session one: Why feedback", starts, 90, 90),
            ("Session two: Measures in practice", starts + timedelta(minutes=105), 90, 90),
            ("Session three: Deliberate practice", starts + timedelta(minutes=240), 120, 120),
        ]
    in_person = format != "webinar"
    return courses_factories.make_event(
        title=title,
        slug=slug or f"event-{EventPage.objects.count() + 1}-{int(starts.timestamp())}",
        sessions=sessions,
        format=format,
        summary=f"{title}.",
        time_zone=time_zone,
        capacity=500,
        venue_name=venue_name if in_person else "",
        venue_address=venue_address if in_person else "",
    )


def make_user(email, legal_name, **extra):
    user_model = get_user_model()
    user = user_model.objects.filter(email__iexact=email).first()
    return user or user_model.objects.create_user(
        email=email, password=None, legal_name=legal_name, **extra
    )


def make_registration(
    event,
    *,
    name="Ana Souza",
    email=None,
    user=None,
    wants_ce=True,
    status=RegistrationStatus.CONFIRMED,
    license_number="",
    license_jurisdiction="",
    profession="",
):
    email = email or (
        user.email if user else f"attendee{Registration.objects.count() + 1}@example.org"
    )
    confirmed = status == RegistrationStatus.CONFIRMED
    # A confirmed booking here is a settled one (paid, or free): CE add-ons put on it count.
    booking = Booking.objects.create(
        event=event,
        purchaser=user or make_user(email, name),
        status=BookingStatus.CONFIRMED if confirmed else BookingStatus.HELD,
        paid_at=timezone.now() if confirmed else None,
    )
    return Registration.objects.create(
        booking=booking,
        event=event,
        ticket_type=event.ticket_types.first(),
        attendee=user,
        attendee_name=name,
        attendee_email=email,
        wants_ce=wants_ce,
        status=status,
        unit_price=0,
        license_number=license_number,
        license_jurisdiction=license_jurisdiction,
        profession=profession,
        confirmed_at=timezone.now() if status == RegistrationStatus.CONFIRMED else None,
    )


def make_sponsor(name="Heart and Soul of Change Project"):
    sponsor = CESponsor.current()
    return sponsor or CESponsor.objects.create(
        name=name, administrator_name="Dana Whitfield, PhD", administrator_title="CE Administrator"
    )


def make_body(short_name="APA", **fields):
    defaults = {
        "name": "American Psychological Association",
        "provider_number": "SAMPLE-APA-0000",
        "approval_statement": (
            "The sponsor is approved by the American Psychological Association to sponsor "
            "continuing education for psychologists. The sponsor maintains responsibility for "
            "this program and its content."
        ),
        "minutes_per_credit": 60,
        "credit_basis": CreditBasis.PER_SESSION,
        "evaluation_required": True,
    }
    defaults.update(fields)
    body, _created = AccreditingBody.objects.get_or_create(short_name=short_name, defaults=defaults)
    return body


def make_offering(event, body, hours=None, **fields):
    if hours is None:
        hours = Decimal(event.total_ce_minutes) / Decimal(body.minutes_per_credit)
        hours = hours.quantize(Decimal("0.01"))
    offering, _created = CEOffering.objects.get_or_create(
        event=event, body=body, defaults={"hours": hours, **fields}
    )
    return offering


def ce_settings(event, **fields):
    settings_row, _created = EventCESettings.objects.update_or_create(event=event, defaults=fields)
    return settings_row
