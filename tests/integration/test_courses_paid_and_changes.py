"""What a booking costs and whether it was paid: `Booking.paid_at` (set by payments through
`record_booking_paid`, and at confirmation for a free booking) and `booking_changed`, sent
when a held booking's line items change so payments can re-price the unpaid order."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from cms.models import AuditRecord
from cms.roles import EVENT_MANAGER
from courses import services
from courses.factories import UserFactory, make_event
from courses.models import Booking, RegistrationStatus
from courses.signals import booking_changed
from tests.accounts_support import acting_with_second_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    bookings = []

    def listener(sender, booking, **kwargs):
        bookings.append(booking.pk)

    booking_changed.connect(listener)
    yield bookings
    booking_changed.disconnect(listener)


def _priced_event():
    return make_event(price=45000, add_ons=[("CE credits", 5000, True), ("Name badge", 0, False)])


def _hold(event, user, seats=1):
    return services.place_hold(
        event=event, purchaser=user, tickets={event.ticket_types.get().pk: seats}
    )


def test_a_free_booking_counts_as_paid_when_confirmed():
    event = make_event()
    booking = _hold(event, UserFactory())
    assert booking.paid_at is None

    services.confirm_registrations(booking)

    booking.refresh_from_db()
    assert booking.is_paid and booking.paid_at == booking.confirmed_at


def test_a_priced_booking_is_unpaid_until_payments_records_the_payment():
    event = _priced_event()
    booking = _hold(event, UserFactory())
    services.confirm_registrations(booking)
    booking.refresh_from_db()
    assert not booking.is_paid

    at = timezone.now() - timedelta(minutes=3)
    services.record_booking_paid(booking, at=at)
    services.record_booking_paid(booking)  # a webhook delivered twice: the first time stays

    booking.refresh_from_db()
    assert booking.paid_at == at
    assert AuditRecord.objects.filter(action="courses.booking.paid").count() == 1

    services.record_booking_unpaid(booking, note="refunded")
    services.record_booking_unpaid(booking)
    booking.refresh_from_db()
    assert booking.paid_at is None
    assert AuditRecord.objects.filter(action="courses.booking.unpaid").count() == 1


def test_ticking_an_add_on_on_a_held_seat_tells_payments_the_price_changed(heard):
    event = _priced_event()
    buyer = UserFactory()
    booking = _hold(event, buyer)
    registration = booking.registrations.get()
    ce = event.add_ons.get(name="CE credits")

    services.update_attendee_details(registration, {"add_on_ids": [ce.pk]}, actor=buyer)
    assert heard == [booking.pk]
    assert services.booking_total(booking) == (50000, event.currency)
    registration.refresh_from_db()
    assert registration.wants_ce

    # Saving the same choice again changes nothing, so nobody is told.
    services.update_attendee_details(registration, {"add_on_ids": [ce.pk]}, actor=buyer)
    services.update_attendee_details(registration, {"attendee_name": "A. Person"}, actor=buyer)
    assert heard == [booking.pk]

    services.update_attendee_details(registration, {"add_on_ids": []}, actor=buyer)
    assert heard == [booking.pk, booking.pk]
    assert services.booking_total(booking) == (45000, event.currency)


def test_an_add_on_line_keeps_the_price_it_was_chosen_at():
    event = _priced_event()
    buyer = UserFactory()
    ce = event.add_ons.get(name="CE credits")
    badge = event.add_ons.get(name="Name badge")
    booking = services.place_hold(
        event=event, purchaser=buyer, tickets={event.ticket_types.get().pk: 1}, add_ons={ce.pk: 1}
    )
    type(ce).objects.filter(pk=ce.pk).update(price=9000)

    services.update_attendee_details(
        booking.registrations.get(), {"add_on_ids": [ce.pk, badge.pk]}, actor=buyer
    )

    assert services.booking_total(booking) == (50000, event.currency)


def test_cancelling_one_held_seat_of_a_group_tells_payments(heard):
    event = _priced_event()
    buyer = UserFactory()
    booking = _hold(event, buyer, seats=2)
    first, _second = booking.registrations.order_by("pk")

    services.cancel_registration(first, actor=buyer)

    assert heard == [booking.pk]
    assert services.booking_total(booking) == (45000, event.currency)


def test_paid_add_ons_of_a_confirmed_seat_cannot_change_free_ones_can(heard):
    event = _priced_event()
    buyer = UserFactory()
    booking = _hold(event, buyer)
    services.confirm_registrations(booking)
    registration = booking.registrations.get()
    assert registration.status == RegistrationStatus.CONFIRMED
    manager = UserFactory(email="manager@example.org")
    manager.groups.add(Group.objects.get(name=EVENT_MANAGER))
    manager = acting_with_second_factor(manager)
    ce = event.add_ons.get(name="CE credits")
    badge = event.add_ons.get(name="Name badge")

    # Not even staff: the CE fee was never charged, so ticking it would grant credit unpaid.
    with pytest.raises(services.NotAllowed, match="contact the organiser"):
        services.update_attendee_details(registration, {"add_on_ids": [ce.pk]}, actor=manager)
    assert not registration.add_on_lines.exists()

    services.update_attendee_details(registration, {"add_on_ids": [badge.pk]}, actor=manager)
    assert list(registration.add_on_lines.values_list("add_on_id", flat=True)) == [badge.pk]
    assert heard == []  # a confirmed booking has no unpaid order to follow

    # The buyer cannot change a confirmed seat at all, as before.
    with pytest.raises(services.NotAllowed, match="can no longer be changed"):
        services.update_attendee_details(registration, {"add_on_ids": []}, actor=buyer)


def test_a_seat_confirmed_while_its_form_was_open_is_not_changed_by_the_buyer():
    event = _priced_event()
    buyer = UserFactory()
    booking = _hold(event, buyer)
    registration = booking.registrations.get()  # the form was built from this copy
    services.confirm_registrations(Booking.objects.get(pk=booking.pk))
    ce = event.add_ons.get(name="CE credits")

    with pytest.raises(services.NotAllowed, match="can no longer be changed"):
        services.update_attendee_details(registration, {"add_on_ids": [ce.pk]}, actor=buyer)
    assert not registration.add_on_lines.exists()
