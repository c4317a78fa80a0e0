"""Builders for CE tests, the demo and the benchmark: events, registrations, approvals."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone
from wagtail.models import Page, Site

from courses.models import (
    Booking,
    BookingStatus,
    EventIndexPage,
    EventPage,
    EventSession,
    Registration,
    RegistrationStatus,
    TicketType,
)

from .models import AccreditingBody, CEOffering, CESponsor, CreditBasis, EventCESettings


def event_index():
    """The events index, under the default site's home page so event pages have URLs."""
    index = EventIndexPage.objects.first()
    if index is None:
        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        parent = site.root_page if site else Page.get_first_root_node()
        index = parent.add_child(instance=EventIndexPage(title="Events", slug="events"))
    return index


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
    """An event page with a schedule: `sessions` lists (title, start, minutes, ce_minutes)."""
    starts = starts or (timezone.now() - timedelta(days=2)).replace(
        hour=13, minute=0, second=0, microsecond=0
    )
    if sessions is None:
        sessions = [
            ("Session one: Why feedback", starts, 90, 90),
            ("Session two: Measures in practice", starts + timedelta(minutes=105), 90, 90),
            ("Session three: Deliberate practice", starts + timedelta(minutes=240), 120, 120),
        ]
    index = event_index()
    event = index.add_child(
        instance=EventPage(
            title=title,
            slug=slug or f"event-{EventPage.objects.count() + 1}-{int(starts.timestamp())}",
            format=format,
            summary=f"{title}.",
            time_zone=time_zone,
            capacity=500,
            venue_name=venue_name if format != "webinar" else "",
            venue_address=venue_address if format != "webinar" else "",
        )
    )
    for order, (session_title, start, minutes, ce_minutes) in enumerate(sessions):
        EventSession.objects.create(
            event=event,
            title=session_title,
            start=start,
            end=start + timedelta(minutes=minutes),
            ce_minutes=ce_minutes,
            sort_order=order,
        )
    event.save()
    TicketType.objects.create(event=event, name="Standard", price=0)
    return event


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
    booking = Booking.objects.create(
        event=event,
        purchaser=user or make_user(email, name),
        status=BookingStatus.CONFIRMED
        if status == RegistrationStatus.CONFIRMED
        else BookingStatus.HELD,
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
