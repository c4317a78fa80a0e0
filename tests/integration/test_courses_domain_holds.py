"""Holding seats: every rule is checked on the server, and seats never exceed capacity."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cms.models import AuditRecord
from courses import services
from courses.factories import UserFactory, make_event, ticket
from courses.models import Booking, BookingStatus, Registration, RegistrationStatus

pytestmark = pytest.mark.django_db


def test_hold_freezes_the_database_price_and_counts_against_capacity():
    event = make_event(price=45000, capacity=3)
    buyer = UserFactory(legal_name="Ana Lucía Pérez")
    standard = event.ticket_types.get()

    booking = services.place_hold(event=event, purchaser=buyer, tickets={standard.pk: 2})

    assert booking.status == BookingStatus.HELD
    assert booking.expires_at == pytest.approx(
        timezone.now() + timedelta(minutes=20), abs=timedelta(seconds=30)
    )
    registrations = list(booking.registrations.order_by("pk"))
    assert [r.unit_price for r in registrations] == [45000, 45000]
    assert registrations[0].attendee == buyer
    assert registrations[0].attendee_name == "Ana Lucía Pérez"
    assert services.booking_total(booking) == (90000, "USD")
    event.refresh_from_db()
    assert event.seats_left == 1
    assert AuditRecord.objects.filter(action="courses.booking.held", object_id=str(booking.pk))


def test_early_bird_price_applies_until_its_deadline():
    event = make_event(price=50000)
    standard = event.ticket_types.get()
    standard.early_bird_price = 40000
    standard.early_bird_until = timezone.now() + timedelta(days=1)
    standard.save()
    buyer = UserFactory()

    early = services.place_hold(event=event, purchaser=buyer, tickets={standard.pk: 1})
    late = services.place_hold(
        event=event,
        purchaser=buyer,
        tickets={standard.pk: 1},
        now=timezone.now() + timedelta(days=2),
    )

    assert early.registrations.get().unit_price == 40000
    assert late.registrations.get().unit_price == 50000


def test_ticket_of_another_event_is_refused_and_nothing_is_held():
    event = make_event()
    other = make_event()
    buyer = UserFactory()

    with pytest.raises(services.InvalidSelection, match="not offered for this event"):
        services.place_hold(event=event, purchaser=buyer, tickets={other.ticket_types.get().pk: 1})

    assert not Booking.objects.exists()


@pytest.mark.parametrize("quantity", [11, -1, "two"])
def test_quantity_outside_the_limits_is_refused(quantity):
    event = make_event()
    buyer = UserFactory()

    with pytest.raises(services.InvalidSelection):
        services.place_hold(
            event=event, purchaser=buyer, tickets={event.ticket_types.get().pk: quantity}
        )

    assert not Registration.objects.exists()


def test_registration_closed_and_sale_window_are_enforced():
    event = make_event()
    event.registration_closes_at = timezone.now() - timedelta(minutes=1)
    event.save()
    buyer = UserFactory()

    with pytest.raises(services.RegistrationClosed, match="closed"):
        services.place_hold(event=event, purchaser=buyer, tickets={event.ticket_types.get().pk: 1})

    open_event = make_event()
    later = ticket(open_event, name="Late", sale_starts_at=timezone.now() + timedelta(days=1))
    with pytest.raises(services.RegistrationClosed, match="not on sale"):
        services.place_hold(event=open_event, purchaser=buyer, tickets={later.pk: 1})
    assert not Booking.objects.exists()


def test_access_code_is_required_for_a_coded_ticket():
    event = make_event(price=30000)
    student = ticket(event, name="Student", price=15000, access_code="STUDENT2026")
    buyer = UserFactory()

    with pytest.raises(services.InvalidSelection) as refused:
        services.place_hold(event=event, purchaser=buyer, tickets={student.pk: 1}, access_code="x")
    assert refused.value.field == "access_code"

    booking = services.place_hold(
        event=event, purchaser=buyer, tickets={student.pk: 1}, access_code=" student2026 "
    )
    assert booking.registrations.get().unit_price == 15000


def test_sold_out_event_says_so_and_offers_the_waitlist():
    event = make_event(capacity=1)
    standard = event.ticket_types.get()
    services.place_hold(event=event, purchaser=UserFactory(), tickets={standard.pk: 1})

    with pytest.raises(services.SoldOut, match="sold out") as refused:
        services.place_hold(event=event, purchaser=UserFactory(), tickets={standard.pk: 1})

    assert refused.value.waitlist_open
    assert Registration.objects.count() == 1


def test_ticket_capacity_is_the_tighter_limit():
    event = make_event(capacity=10, ticket_capacity=2)
    standard = event.ticket_types.get()
    roomy = ticket(event, name="Observer")
    buyer = UserFactory()

    with pytest.raises(services.SoldOut, match="Only 2"):
        services.place_hold(event=event, purchaser=buyer, tickets={standard.pk: 3})
    services.place_hold(event=event, purchaser=buyer, tickets={standard.pk: 2, roomy.pk: 3})

    assert Registration.objects.filter(ticket_type=standard).count() == 2
    event.refresh_from_db()
    assert event.seats_left == 5


def test_double_submission_with_the_same_key_makes_one_hold():
    event = make_event(capacity=5)
    buyer = UserFactory()
    tickets = {event.ticket_types.get().pk: 2}

    first = services.place_hold(event=event, purchaser=buyer, tickets=tickets, idempotency_key="k1")
    second = services.place_hold(
        event=event, purchaser=buyer, tickets=tickets, idempotency_key="k1"
    )

    assert first.pk == second.pk
    assert Registration.objects.count() == 2


def test_expired_holds_stop_counting_and_the_task_marks_them_expired():
    event = make_event(capacity=1)
    standard = event.ticket_types.get()
    stale = services.place_hold(event=event, purchaser=UserFactory(), tickets={standard.pk: 1})
    later = timezone.now() + timedelta(minutes=21)

    # Even before the periodic task runs, the lapsed hold no longer takes the seat.
    fresh = services.place_hold(
        event=event, purchaser=UserFactory(), tickets={standard.pk: 1}, now=later
    )
    assert services.expire_holds(now=later) == 1

    stale.refresh_from_db()
    assert stale.status == BookingStatus.EXPIRED
    assert stale.registrations.get().status == RegistrationStatus.EXPIRED
    assert fresh.status == BookingStatus.HELD


def test_confirming_a_free_booking_emails_the_attendee_with_the_calendar(
    django_capture_on_commit_callbacks,
):
    event = make_event(days=2, title="Supervision Intensive")
    buyer = UserFactory(legal_name="Søren Ødegård", email="soren@example.org")
    booking = services.place_hold(
        event=event, purchaser=buyer, tickets={event.ticket_types.get().pk: 1}
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_free_booking(booking, actor=buyer)
        services.confirm_free_booking(booking, actor=buyer)

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.registrations.get().status == RegistrationStatus.CONFIRMED
    assert len(mail.outbox) == 1, "confirming twice sends one email"
    message = mail.outbox[0]
    assert message.to == ["soren@example.org"]
    assert message.subject == "You are registered: Supervision Intensive"
    assert "Dear Søren Ødegård" in message.body
    assert "calendar.google.com" in message.body
    html = message.alternatives[0][0]
    assert "Supervision Intensive" in html and "outlook.live.com" in html
    (filename, content, mimetype) = message.attachments[0]
    assert filename.endswith(".ics") and mimetype.startswith("text/calendar")
    ics = content.decode() if isinstance(content, bytes) else content
    assert ics.count("BEGIN:VEVENT") == 2
    assert "DTSTART;TZID=America/Chicago:" in ics
    assert "BEGIN:VTIMEZONE" in ics and "TZID:America/Chicago" in ics


def test_paid_booking_cannot_be_confirmed_as_free():
    event = make_event(price=1000)
    buyer = UserFactory()
    booking = services.place_hold(
        event=event, purchaser=buyer, tickets={event.ticket_types.get().pk: 1}
    )

    with pytest.raises(services.InvalidSelection, match="continue to payment"):
        services.confirm_free_booking(booking, actor=buyer)
    assert Booking.objects.get().status == BookingStatus.HELD


def test_expired_hold_is_confirmed_when_seats_remain_else_refused():
    event = make_event(capacity=1, price=1000)
    standard = event.ticket_types.get()
    late = timezone.now() + timedelta(minutes=30)
    first = services.place_hold(event=event, purchaser=UserFactory(), tickets={standard.pk: 1})

    services.confirm_registrations(first, now=late)
    assert Booking.objects.get(pk=first.pk).status == BookingStatus.CONFIRMED

    event.capacity = 2
    event.save()
    second = services.place_hold(event=event, purchaser=UserFactory(), tickets={standard.pk: 1})
    services.expire_holds(now=late)
    services.place_hold(event=event, purchaser=UserFactory(), tickets={standard.pk: 1}, now=late)

    with pytest.raises(services.SeatsNoLongerAvailable):
        services.confirm_registrations(second, now=late)
    assert Booking.objects.get(pk=second.pk).status == BookingStatus.EXPIRED


def test_release_is_idempotent_and_line_items_describe_the_order():
    event = make_event(
        price=45000, add_ons=[("CE credits", 2500, True), ("Printed manual", 3995, False)]
    )
    buyer = UserFactory()
    ce = event.add_ons.get(name="CE credits")
    booking = services.place_hold(
        event=event,
        purchaser=buyer,
        tickets={event.ticket_types.get().pk: 2},
        add_ons={ce.pk: 1},
    )

    assert services.booking_line_items(booking) == [
        {
            "description": f"{event.title}: Standard",
            "quantity": 2,
            "unit_amount": 45000,
            "currency": "USD",
            "kind": "ticket",
            "ref": event.ticket_types.get().pk,
        },
        {
            "description": f"{event.title}: CE credits",
            "quantity": 1,
            "unit_amount": 2500,
            "currency": "USD",
            "kind": "addon",
            "ref": ce.pk,
        },
    ]
    assert booking.registrations.filter(wants_ce=True).count() == 1

    services.release_registrations(
        booking, outcome=services.ReleaseOutcome.CANCELLED, reason="checkout abandoned"
    )
    services.release_registrations(
        booking, outcome=services.ReleaseOutcome.CANCELLED, reason="checkout abandoned"
    )

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert AuditRecord.objects.filter(action="courses.booking.cancelled").count() == 1


def test_a_lapsed_payment_window_expires_the_hold():
    event = make_event(price=1000)
    booking = services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )

    services.release_registrations(
        booking, outcome=services.ReleaseOutcome.EXPIRED, reason="payment expired"
    )

    booking.refresh_from_db()
    assert booking.status == BookingStatus.EXPIRED
    assert booking.registrations.get().status == RegistrationStatus.EXPIRED
