"""After registering: the events index, "My registrations", join links, materials, cancel,
transfer, the waitlist and invited seats, each checked by what the person sees."""

import html as html_lib
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse

from cms.roles import EVENT_MANAGER
from courses import services
from courses.factories import UserFactory, events_index, make_event
from courses.models import (
    Booking,
    BookingStatus,
    EventFormat,
    Material,
    Registration,
    RegistrationStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from tests.accounts_support import log_in_with_second_factor

pytestmark = pytest.mark.django_db


def _text(response):
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _confirmed(event, user, **attendee):
    booking = services.place_hold(
        event=event,
        purchaser=user,
        tickets={event.ticket_types.first().pk: 1},
        attendees=[attendee] if attendee else None,
    )
    services.confirm_registrations(booking, actor=user)
    return booking.registrations.get()


# -- events index ------------------------------------------------------------------------------


def test_events_index_filters_by_format_and_month_and_lists_past_events(client):
    webinar = make_event(
        title="Live webinar on feedback", format=EventFormat.WEBINAR, time_zone="America/New_York"
    )
    workshop = make_event(title="FIT Supervision training", starts_in=timedelta(days=70))
    past = make_event(title="Last year's conference", starts_in=timedelta(days=-30))
    index = events_index()

    upcoming = _text(client.get(index.url))
    assert webinar.title in upcoming and workshop.title in upcoming
    assert past.title not in upcoming
    # A webinar's card gives its start in the event's own zone, not the server's (UTC).
    assert re.search(r"Online, 9:00 AM E[SD]T", upcoming)

    only_webinars = _text(client.get(index.url, {"format": "webinar"}))
    assert webinar.title in only_webinars and workshop.title not in only_webinars

    month = workshop.starts_at.strftime("%Y-%m")
    by_month = _text(client.get(index.url, {"month": month}))
    assert workshop.title in by_month and webinar.title not in by_month

    past_page = _text(client.get(index.url, {"when": "past"}))
    assert past.title in past_page and webinar.title not in past_page

    nonsense = client.get(index.url, {"format": "<script>", "month": "13-99", "page": "x"})
    assert nonsense.status_code == 200
    assert webinar.title in _text(nonsense)


def test_events_index_is_paginated(client):
    for number in range(12):
        make_event(title=f"Workshop number {number:02d}", starts_in=timedelta(days=10 + number))
    index = events_index()

    first = _text(client.get(index.url))
    second = _text(client.get(index.url, {"page": 2}))

    assert "Workshop number 00" in first and "Workshop number 11" not in first
    assert "Workshop number 11" in second
    assert "12 events" in first


def test_home_page_shows_upcoming_events(client):
    event = make_event(title="Training of Trainers conference")

    text = _text(client.get("/"))

    assert "Upcoming events" in text
    assert event.title in text


# -- my registrations ----------------------------------------------------------------------------


def test_my_registrations_lists_upcoming_and_past_with_status(client):
    user = UserFactory()
    upcoming = make_event(title="Upcoming workshop")
    past = make_event(title="Past workshop", starts_in=timedelta(days=-10))
    _confirmed(upcoming, user)
    registration = Registration.objects.create(
        booking=Booking.objects.create(event=past, purchaser=user, status="confirmed"),
        event=past,
        ticket_type=past.ticket_types.get(),
        attendee=user,
        attendee_name=user.legal_name,
        attendee_email=user.email,
        unit_price=0,
        status=RegistrationStatus.CONFIRMED,
    )
    client.force_login(user)

    text = _text(client.get(reverse("courses:my_registrations")))

    upcoming_part, past_part = text.split("Past", 1)
    assert "Upcoming workshop" in upcoming_part and "Confirmed" in upcoming_part
    assert registration.event.title in past_part
    assert "Upcoming workshop" not in past_part


def test_anonymous_my_registrations_goes_to_login(client):
    response = client.get(reverse("courses:my_registrations"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_join_link_only_for_confirmed_attendee_from_the_set_time(client):
    event = make_event(
        format=EventFormat.WEBINAR,
        join_url="https://zoom.example.org/j/123",
        join_link_visible_minutes_before=30,
        starts_in=timedelta(days=2),
    )
    user = UserFactory()
    _confirmed(event, user)
    client.force_login(user)
    url = reverse("courses:my_registrations")

    with time_machine.travel(event.starts_at - timedelta(minutes=31)):
        early = client.get(url)
    assert "https://zoom.example.org/j/123" not in early.content.decode()
    assert "The join link appears here from" in _text(early)

    with time_machine.travel(event.starts_at - timedelta(minutes=29)):
        on_time = client.get(url)
    assert "https://zoom.example.org/j/123" in on_time.content.decode()
    assert "Join the webinar" in _text(on_time)

    stranger = UserFactory()
    client.force_login(stranger)
    with time_machine.travel(event.starts_at - timedelta(minutes=5)):
        assert "zoom.example.org" not in client.get(url).content.decode()


def test_booking_documents_hook_renders_when_payments_provides_it(client, settings, tmp_path):
    templates = tmp_path / "templates" / "payments" / "includes"
    templates.mkdir(parents=True)
    (templates / "booking_documents.html").write_text(
        "<p>Receipt for booking {{ booking.public_id }}</p>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]}
    ]
    user = UserFactory()
    registration = _confirmed(make_event(), user)
    client.force_login(user)

    text = _text(client.get(reverse("courses:my_registrations")))

    assert f"Receipt for booking {registration.booking.public_id}" in text


# -- materials -----------------------------------------------------------------------------------


@pytest.fixture
def slides():
    event = make_event(title="Training of Trainers")
    material = Material.objects.create(
        event=event,
        title="Day 1 slides",
        kind="slides",
        file=ContentFile(b"%PDF-1.4 slides", name="day1.pdf"),
    )
    return material


def test_confirmed_registrant_downloads_materials(client, slides):
    user = UserFactory()
    _confirmed(slides.event, user)
    client.force_login(user)

    page = _text(client.get(reverse("courses:my_registrations")))
    response = client.get(reverse("courses:download_material", args=[slides.pk]))

    assert "Day 1 slides" in page
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 slides"
    assert "day1.pdf" in response["Content-Disposition"]


def test_materials_are_denied_to_anonymous_and_other_people(client, slides):
    url = reverse("courses:download_material", args=[slides.pk])

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404

    held = UserFactory()
    services.place_hold(
        event=slides.event, purchaser=held, tickets={slides.event.ticket_types.get().pk: 1}
    )
    client.force_login(held)
    assert client.get(url).status_code == 404


def test_event_staff_download_materials(client, slides):
    manager = UserFactory()
    manager.groups.add(Group.objects.get(name=EVENT_MANAGER))
    log_in_with_second_factor(client, manager)

    assert client.get(reverse("courses:download_material", args=[slides.pk])).status_code == 200


# -- cancel and transfer -------------------------------------------------------------------------


def test_attendee_cancels_before_the_cut_off(client):
    user = UserFactory()
    registration = _confirmed(make_event(title="Chicago training"), user)
    client.force_login(user)
    assert "Cancel" in _text(client.get(reverse("courses:my_registrations")))

    response = client.post(
        reverse("courses:cancel_registration", args=[registration.public_id]), follow=True
    )

    assert "is cancelled" in _text(response)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED


def test_cancel_after_the_cut_off_is_refused(client):
    user = UserFactory()
    event = make_event(starts_in=timedelta(hours=24), cancellation_cutoff_hours=72)
    registration = _confirmed(event, user)
    client.force_login(user)

    page = _text(client.get(reverse("courses:my_registrations")))
    response = client.post(
        reverse("courses:cancel_registration", args=[registration.public_id]), follow=True
    )

    assert "The deadline to cancel or transfer online has passed" in page
    assert "The deadline to cancel has passed" in _text(response)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_after_the_cut_off_the_transfer_page_says_so_instead_of_a_form(client):
    user = UserFactory()
    event = make_event(starts_in=timedelta(hours=24), cancellation_cutoff_hours=72)
    registration = _confirmed(event, user)
    client.force_login(user)
    url = reverse("courses:transfer_registration", args=[registration.public_id])

    page = client.get(url)
    refused = client.post(url, {"new_name": "Kwame Mensah", "new_email": "kwame@example.org"})

    assert page.status_code == 200
    assert "The deadline to transfer has passed. Please contact us for help." in _text(page)
    assert 'name="new_email"' not in page.content.decode()
    assert refused.status_code == 400
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_other_people_cannot_cancel_or_transfer(client):
    registration = _confirmed(make_event(), UserFactory())
    client.force_login(UserFactory())

    cancel = client.post(reverse("courses:cancel_registration", args=[registration.public_id]))
    transfer = client.get(reverse("courses:transfer_registration", args=[registration.public_id]))

    assert cancel.status_code == 404 and transfer.status_code == 404
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_transfer_gives_the_seat_to_a_colleague_and_removes_access(
    client, slides, django_capture_on_commit_callbacks
):
    user = UserFactory()
    registration = _confirmed(slides.event, user)
    client.force_login(user)
    url = reverse("courses:transfer_registration", args=[registration.public_id])

    same = client.post(url, {"new_name": "Me Again", "new_email": user.email.upper()})
    assert same.status_code == 400
    assert "Enter the email address of the person taking the seat" in _text(same)

    missing = client.post(url, {"new_name": "", "new_email": "not-an-email"})
    assert missing.status_code == 400
    assert "Enter a valid email address" in _text(missing)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"new_name": "Kwame Mensah", "new_email": "kwame@example.org"})
    assert response["Location"] == reverse("courses:my_registrations")
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.TRANSFERRED
    successor = registration.transferred_to
    assert successor.attendee_name == "Kwame Mensah"
    assert successor.status == RegistrationStatus.CONFIRMED
    assert any(m.to == ["kwame@example.org"] for m in mail.outbox)
    assert "Transferred to Kwame Mensah" in _text(client.get(reverse("courses:my_registrations")))
    assert client.get(reverse("courses:download_material", args=[slides.pk])).status_code == 404


# -- waitlist ------------------------------------------------------------------------------------


def test_waitlist_join_offer_and_claim(client, django_capture_on_commit_callbacks):
    event = make_event(title="FIT Supervision", capacity=1)
    first = UserFactory()
    taken = _confirmed(event, first)
    waiting = UserFactory(email="waiting@example.org", legal_name="Wen Li")
    client.force_login(waiting)

    page = _text(client.get(event.url))
    assert "This event is full" in page
    response = client.post(reverse("courses:join_waitlist", args=[event.pk]), follow=True)
    assert "You're on the waitlist for FIT Supervision" in _text(response)
    assert WaitlistEntry.objects.get(user=waiting).status == WaitlistStatus.WAITING

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_registration(taken, actor=first)
    entry = WaitlistEntry.objects.get(user=waiting)
    assert entry.status == WaitlistStatus.OFFERED
    offer = next(m for m in mail.outbox if m.to == ["waiting@example.org"])
    claim_path = reverse("courses:waitlist_claim", args=[entry.claim_token])
    assert claim_path in offer.body

    assert "Claim your seat" in _text(client.get(reverse("courses:my_registrations")))
    claim_page = client.get(claim_path)
    assert "A seat is waiting for you" in _text(claim_page)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', claim_page.content.decode())[1]
    response = client.post(
        claim_path, {"idempotency_key": key, "ticket_type": event.ticket_types.get().pk}
    )
    booking = Booking.objects.get(purchaser=waiting)
    assert response["Location"] == reverse("courses:booking_attendees", args=[booking.public_id])
    client.post(reverse("courses:confirm_booking", args=[booking.public_id]))
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert WaitlistEntry.objects.get(user=waiting).status == WaitlistStatus.CLAIMED


def test_waitlist_claim_link_of_someone_else_is_refused(client):
    event = make_event(capacity=1)
    owner = UserFactory()
    taken = _confirmed(event, owner)
    waiting = UserFactory()
    services.join_waitlist(event, user=waiting)
    services.cancel_registration(taken, actor=owner)
    entry = WaitlistEntry.objects.get(user=waiting)

    client.force_login(UserFactory())
    response = client.get(reverse("courses:waitlist_claim", args=[entry.claim_token]))

    assert response.status_code == 404
    assert "This seat offer is not valid for your account" in _text(response)
    assert not Booking.objects.filter(purchaser__in=[waiting]).exists()


def test_a_lapsed_offer_says_it_lapsed_stays_in_view_and_can_be_rejoined(
    client, django_capture_on_commit_callbacks
):
    event = make_event(title="FIT Supervision", capacity=1, starts_in=timedelta(days=30))
    owner = UserFactory()
    taken = _confirmed(event, owner)
    waiting = UserFactory(email="waiting@example.org")
    services.join_waitlist(event, user=waiting)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_registration(taken, actor=owner)
    entry = WaitlistEntry.objects.get(user=waiting)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.expire_holds(now=entry.offer_expires_at + timedelta(minutes=1))

    lapsed_email = next(m for m in mail.outbox if m.to == ["waiting@example.org"])
    assert lapsed_email.subject == "Your seat offer has lapsed: FIT Supervision"
    client.force_login(waiting)
    claim = client.get(reverse("courses:waitlist_claim", args=[entry.claim_token]))
    assert claim.status_code == 404
    assert "This seat offer lapsed on" in _text(claim)
    assert "not valid for your account" not in _text(claim)

    page = _text(client.get(reverse("courses:my_registrations")))
    assert "Offer lapsed" in page and "passed to the next person" in page
    assert "Join the waitlist again for FIT Supervision" in page
    # The seat went to nobody else here, so the event has a free seat again: rejoining
    # is refused with the way forward, and nothing is lost.
    response = client.post(reverse("courses:join_waitlist", args=[event.pk]), follow=True)
    assert "Seats are still available: you can register now." in _text(response)


def test_joining_the_waitlist_while_seats_remain_says_register(client):
    event = make_event(capacity=5)
    client.force_login(UserFactory())

    response = client.post(reverse("courses:join_waitlist", args=[event.pk]), follow=True)

    assert "Seats are still available: you can register now." in _text(response)
    assert not WaitlistEntry.objects.exists()


def test_invalid_invitation_link_says_so(client):
    response = client.get(reverse("courses:claim_seat", args=["not-a-real-token"]))

    assert response.status_code == 404
    assert "This invitation link is no longer valid" in _text(response)


def test_leaving_the_waitlist(client):
    event = make_event(capacity=1)
    _confirmed(event, UserFactory())
    waiting = UserFactory()
    entry = services.join_waitlist(event, user=waiting)
    client.force_login(UserFactory())
    url = reverse("courses:leave_waitlist", args=[entry.pk])
    assert client.post(url).status_code == 404

    client.force_login(waiting)
    response = client.post(url, follow=True)

    assert f"You've left the waitlist for {event.title}" in _text(response)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.CANCELLED


def test_coordinator_resends_an_invitation_and_invitee_sees_no_unfinished_checkout(
    client, django_capture_on_commit_callbacks
):
    event = make_event(title="Agency training")
    coordinator = UserFactory()
    booking = services.place_hold(
        event=event,
        purchaser=coordinator,
        tickets={event.ticket_types.get().pk: 1},
        attendees=[
            {"attendee_name": "Ilse Brandt", "attendee_email": "ilse@example.org", "invite": True}
        ],
    )
    invitee = UserFactory(email="ilse@example.org")
    registration = booking.registrations.get()
    client.force_login(invitee)
    # The seat is not hers until the coordinator completes the booking and she claims it.
    assert "Agency training" not in _text(client.get(reverse("courses:my_registrations")))

    services.confirm_registrations(booking, actor=coordinator)
    mail.outbox.clear()
    client.force_login(coordinator)
    page = _text(client.get(reverse("courses:my_registrations")))
    assert "Invitation sent, not yet claimed" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("courses:resend_invitation", args=[registration.public_id]), follow=True
        )

    assert "We've sent the invitation again to ilse@example.org" in _text(response)
    assert [m.to for m in mail.outbox] == [["ilse@example.org"]]


def test_claiming_an_invited_seat_needs_an_account(client):
    event = make_event(title="Agency training")
    coordinator = UserFactory()
    booking = services.place_hold(
        event=event,
        purchaser=coordinator,
        tickets={event.ticket_types.get().pk: 1},
        attendees=[
            {"attendee_name": "Ilse Brandt", "attendee_email": "ilse@example.org", "invite": True}
        ],
    )
    services.confirm_registrations(booking, actor=coordinator)
    registration = booking.registrations.get()
    url = reverse("courses:claim_seat", args=[registration.invitation_token])

    page = _text(client.get(url))
    response = client.post(url)

    assert "Log in or create an account to claim this seat" in page
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    registration.refresh_from_db()
    assert registration.attendee is None
