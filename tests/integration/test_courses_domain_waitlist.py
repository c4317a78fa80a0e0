"""The waitlist: a freed seat goes to the next person, who has a set time to claim it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from courses import services
from courses.factories import UserFactory, make_event
from courses.models import BookingKind, BookingStatus, WaitlistStatus

pytestmark = pytest.mark.django_db


def _full_event():
    event = make_event(capacity=1, title="FIT Supervision Training")
    holder = UserFactory(email="first@example.org")
    booking = services.place_hold(
        event=event, purchaser=holder, tickets={event.ticket_types.get().pk: 1}
    )
    services.confirm_registrations(booking)
    mail.outbox.clear()
    return event, booking.registrations.get()


def test_join_only_when_full_and_only_once():
    event = make_event(capacity=2)
    person = UserFactory()
    with pytest.raises(services.InvalidSelection, match="register now"):
        services.join_waitlist(event, user=person)

    full, _registration = _full_event()
    first = services.join_waitlist(full, user=person)
    again = services.join_waitlist(full, user=person)

    assert first.pk == again.pk
    assert first.status == WaitlistStatus.WAITING


def test_freed_seat_is_offered_claimed_and_confirmed(django_capture_on_commit_callbacks):
    event, registration = _full_event()
    waiting = UserFactory(email="waiting@example.org", legal_name="Mei Ling Chen")
    second = UserFactory(email="second@example.org")
    entry = services.join_waitlist(event, user=waiting)
    services.join_waitlist(event, user=second)

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_registration(registration, actor=registration.attendee)

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert entry.offer_expires_at == pytest.approx(
        timezone.now() + timedelta(hours=48), abs=timedelta(minutes=1)
    )
    offer = [m for m in mail.outbox if m.to == ["waiting@example.org"]]
    assert len(offer) == 1
    assert offer[0].subject == "A seat is free: FIT Supervision Training"
    assert "held for you until" in offer[0].body
    assert not [m for m in mail.outbox if m.to == ["second@example.org"]]
    # The offered seat is kept for the person: nobody else can take it meanwhile.
    with pytest.raises(services.SoldOut):
        services.place_hold(
            event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
        )

    with pytest.raises(services.NotAllowed):
        services.place_hold(
            event=event,
            purchaser=second,
            tickets={event.ticket_types.get().pk: 1},
            waitlist_token=entry.claim_token,
        )
    booking = services.place_hold(
        event=event,
        purchaser=waiting,
        tickets={event.ticket_types.get().pk: 1},
        waitlist_token=entry.claim_token,
    )
    services.confirm_registrations(booking, actor=waiting)

    entry.refresh_from_db()
    booking.refresh_from_db()
    assert entry.status == WaitlistStatus.CLAIMED and entry.booking == booking
    assert booking.kind == BookingKind.WAITLIST and booking.status == BookingStatus.CONFIRMED
    assert booking.registrations.get().attendee_name == "Mei Ling Chen"


def test_unclaimed_offer_passes_to_the_next_person(django_capture_on_commit_callbacks):
    event, registration = _full_event()
    first = services.join_waitlist(event, user=UserFactory(email="one@example.org"))
    second = services.join_waitlist(event, user=UserFactory(email="two@example.org"))
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_registration(registration, actor=registration.attendee)
    first.refresh_from_db()
    token = first.claim_token

    with django_capture_on_commit_callbacks(execute=True):
        services.expire_holds(now=timezone.now() + timedelta(hours=49))

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistStatus.EXPIRED
    assert second.status == WaitlistStatus.OFFERED
    assert [m.to for m in mail.outbox if "A seat is free" in m.subject] == [
        ["one@example.org"],
        ["two@example.org"],
    ]
    # The first person is told the offer lapsed, once, with the way to rejoin.
    lapsed = [m for m in mail.outbox if m.subject.startswith("Your seat offer has lapsed")]
    assert [m.to for m in lapsed] == [["one@example.org"]]
    assert "passed to the next person on the waitlist" in lapsed[0].body
    assert "join the waitlist again" in lapsed[0].body
    # Their old link says what happened, not that it belongs to someone else.
    with pytest.raises(services.RegistrationClosed, match="lapsed on"):
        services.get_waitlist_offer(token, first.user)
    with pytest.raises(services.NotAllowed):
        services.get_waitlist_offer(token, second.user)
    services.expire_holds(now=timezone.now() + timedelta(hours=49))
    assert len([m for m in mail.outbox if m.subject.startswith("Your seat offer has lapsed")]) == 1


def test_expired_hold_offers_its_seat_to_the_waitlist():
    event = make_event(capacity=1)
    services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )
    entry = services.join_waitlist(event, user=UserFactory())

    services.expire_holds(now=timezone.now() + timedelta(minutes=25))

    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
