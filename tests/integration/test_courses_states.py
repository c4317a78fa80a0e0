"""The status tables of bookings and seats (`BOOKING_TRANSITIONS`, `REGISTRATION_TRANSITIONS`),
the one function that moves them (`courses.services.transition`), the lock helpers the
services use, and what a person sees when the rows they need are busy."""

import pytest
from django.urls import reverse

from cms.locking import Busy
from cms.models import AuditRecord
from cms.states import InvalidTransition
from courses import capacity, services
from courses.factories import UserFactory, make_event
from courses.models import (
    BOOKING_TRANSITIONS,
    REGISTRATION_TRANSITIONS,
    Booking,
    BookingStatus,
    Registration,
    RegistrationStatus,
)

pytestmark = pytest.mark.django_db


def _pairs(table, statuses, allowed):
    return [
        (before, after)
        for before in statuses
        for after in statuses
        if (after in table[before]) == allowed
    ]


@pytest.fixture
def booking():
    event = make_event()
    return services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )


def test_every_status_has_a_row_in_its_table():
    assert set(BOOKING_TRANSITIONS) == set(BookingStatus)
    assert set(REGISTRATION_TRANSITIONS) == set(RegistrationStatus)
    assert Booking.TRANSITIONS is BOOKING_TRANSITIONS
    assert Registration.TRANSITIONS is REGISTRATION_TRANSITIONS


@pytest.mark.parametrize(
    ("before", "after"), _pairs(BOOKING_TRANSITIONS, BookingStatus, allowed=True)
)
def test_each_allowed_booking_move_is_made_stamped_and_audited(booking, before, after):
    Booking.objects.filter(pk=booking.pk).update(status=before)
    booking.refresh_from_db()

    services.transition(booking, after, note="test")

    booking.refresh_from_db()
    assert booking.status == after
    stamp = booking.confirmed_at if after == BookingStatus.CONFIRMED else booking.cancelled_at
    assert stamp is not None
    audit = AuditRecord.objects.filter(action=f"courses.booking.{after}").latest("pk")
    assert audit.before == {"status": before} and audit.after == {"status": after}


@pytest.mark.parametrize(
    ("before", "after"), _pairs(BOOKING_TRANSITIONS, BookingStatus, allowed=False)
)
def test_each_forbidden_booking_move_raises_and_changes_nothing(booking, before, after):
    Booking.objects.filter(pk=booking.pk).update(status=before)
    booking.refresh_from_db()

    with pytest.raises(InvalidTransition):
        services.transition(booking, after)

    assert Booking.objects.get(pk=booking.pk).status == before


@pytest.mark.parametrize(
    ("before", "after"), _pairs(REGISTRATION_TRANSITIONS, RegistrationStatus, allowed=True)
)
def test_each_allowed_seat_move_is_made(booking, before, after):
    registration = booking.registrations.get()
    Registration.objects.filter(pk=registration.pk).update(status=before)
    registration.refresh_from_db()

    services.transition(registration, after)

    assert Registration.objects.get(pk=registration.pk).status == after
    assert AuditRecord.objects.filter(action=f"courses.registration.{after}").exists()


@pytest.mark.parametrize(
    ("before", "after"), _pairs(REGISTRATION_TRANSITIONS, RegistrationStatus, allowed=False)
)
def test_each_forbidden_seat_move_raises(booking, before, after):
    registration = booking.registrations.get()
    Registration.objects.filter(pk=registration.pk).update(status=before)
    registration.refresh_from_db()

    with pytest.raises(InvalidTransition):
        services.transition(registration, after)

    assert Registration.objects.get(pk=registration.pk).status == before


def test_a_cancelled_booking_cannot_be_confirmed_by_a_late_payment(booking):
    services.release_registrations(booking, outcome=services.ReleaseOutcome.CANCELLED)

    with pytest.raises(services.SeatsNoLongerAvailable):
        services.confirm_registrations(booking)


def test_an_expired_hold_is_confirmed_by_a_late_payment_while_seats_are_free(booking):
    services.release_registrations(booking, outcome=services.ReleaseOutcome.EXPIRED)
    assert booking.registrations.get().status == RegistrationStatus.EXPIRED

    services.confirm_registrations(booking)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.registrations.get().status == RegistrationStatus.CONFIRMED


def test_a_busy_event_is_a_message_on_the_registration_page(client, monkeypatch):
    event = make_event()
    user = UserFactory()
    client.force_login(user)

    def busy(*args, **kwargs):
        raise Busy()

    monkeypatch.setattr(capacity, "lock_capacity", busy)
    standard = event.ticket_types.get()
    response = client.post(
        reverse("courses:register", args=[event.pk]),
        {"idempotency_key": "k-1", f"ticket_{standard.pk}": 1},
    )

    assert response.status_code == 503
    assert "try again in a moment" in response.content.decode()
    assert not Booking.objects.filter(purchaser=user).exists()

    monkeypatch.undo()
    response = client.post(
        reverse("courses:register", args=[event.pk]),
        {"idempotency_key": "k-1", f"ticket_{standard.pk}": 1},
    )
    assert response.status_code == 302
    assert Booking.objects.filter(purchaser=user).count() == 1


def test_a_busy_booking_is_a_message_on_the_details_page(client, monkeypatch, booking):
    client.force_login(booking.purchaser)
    registration = booking.registrations.get()

    def busy(*args, **kwargs):
        raise Busy()

    monkeypatch.setattr("courses.services.changes.lock_booking", busy)
    response = client.post(
        reverse("courses:booking_attendees", args=[booking.public_id]),
        {
            "seat-1-attendee_name": "New Name",
            "seat-1-attendee_email": "new@example.org",
        },
    )

    assert response.status_code == 503
    assert "try again in a moment" in response.content.decode()
    registration.refresh_from_db()
    assert registration.attendee_name != "New Name"
