"""Cancel, transfer, group invitations, materials, member access and the join link."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.files.base import ContentFile
from django.utils import timezone

from cms.models import AuditRecord
from cms.roles import EVENT_MANAGER
from courses import services
from courses.factories import UserFactory, make_event, make_plan
from courses.models import (
    ApprovalStatus,
    BookingKind,
    BookingStatus,
    Material,
    MembershipPeriod,
    Registration,
    RegistrationStatus,
)
from courses.signals import registration_cancelled
from tests.accounts_support import acting_with_second_factor

pytestmark = pytest.mark.django_db


def _confirmed(event, user, **hold):
    booking = services.place_hold(
        event=event, purchaser=user, tickets={event.ticket_types.get().pk: 1}, **hold
    )
    services.confirm_registrations(booking)
    return booking.registrations.get()


def _event_manager():
    manager = UserFactory(email="manager@example.org")
    manager.groups.add(Group.objects.get(name=EVENT_MANAGER))
    return acting_with_second_factor(manager)


def test_attendee_cancels_before_the_cutoff_and_payments_hears_of_it(
    django_capture_on_commit_callbacks,
):
    event = make_event(starts_in=timedelta(days=10))
    attendee = UserFactory(email="cancel@example.org")
    registration = _confirmed(event, attendee)
    heard = []

    def listener(sender, registration, actor, by_staff, **kwargs):
        heard.append((registration.pk, actor.pk, by_staff))

    registration_cancelled.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.cancel_registration(registration, actor=attendee)
    finally:
        registration_cancelled.disconnect(listener)

    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED
    assert registration.booking.status == BookingStatus.CANCELLED
    assert heard == [(registration.pk, attendee.pk, False)]
    assert mail.outbox[-1].subject.startswith("Registration cancelled")
    event.refresh_from_db()
    assert event.seats_left == 30


def test_after_the_cutoff_only_staff_can_cancel():
    event = make_event(starts_in=timedelta(days=2))  # the cut-off is 72 hours before
    attendee = UserFactory()
    registration = _confirmed(event, attendee)

    with pytest.raises(services.CancellationClosed, match="deadline"):
        services.cancel_registration(registration, actor=attendee)
    with pytest.raises(services.NotAllowed):
        services.cancel_registration(registration, actor=UserFactory())
    assert Registration.objects.get(pk=registration.pk).status == RegistrationStatus.CONFIRMED

    services.cancel_registration(registration, actor=_event_manager())
    assert Registration.objects.get(pk=registration.pk).status == RegistrationStatus.CANCELLED


def test_transfer_moves_the_seat_and_access_to_the_colleague(django_capture_on_commit_callbacks):
    group = Group.objects.create(name="Member site")
    event = make_event(starts_in=timedelta(days=10), included_membership=make_plan(group))
    material = Material.objects.create(
        event=event, title="Slides", file=ContentFile(b"%PDF-1.4 slides", name="slides.pdf")
    )
    original = UserFactory(email="old@example.org")
    colleague = UserFactory(email="New@Example.org", legal_name="Kwame Mensah")
    registration = _confirmed(event, original)
    assert services.can_download_material(original, material)
    assert original.groups.filter(pk=group.pk).exists()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        successor = services.transfer_registration(
            registration, new_name="Kwame Mensah", new_email="new@example.org", actor=original
        )

    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.TRANSFERRED
    assert registration.transferred_to == successor
    assert successor.attendee == colleague and successor.status == RegistrationStatus.CONFIRMED
    assert not services.can_download_material(original, material)
    assert services.can_download_material(colleague, material)
    assert not original.groups.filter(pk=group.pk).exists()
    assert colleague.groups.filter(pk=group.pk).exists()
    assert [m.to for m in mail.outbox] == [["new@example.org"], ["old@example.org"]]
    assert "has been transferred to you" in mail.outbox[0].body
    # The person whose seat it was learns it is no longer theirs, and to whom it went.
    assert mail.outbox[1].subject.startswith("Your seat has been transferred")
    assert "has been transferred to Kwame Mensah" in mail.outbox[1].body
    assert AuditRecord.objects.filter(action="courses.registration.transferred").exists()


def test_coordinator_buys_seats_and_invitees_claim_them(django_capture_on_commit_callbacks):
    event = make_event(title="Training of Trainers Conference")
    coordinator = UserFactory(email="coordinator@agency.example", legal_name="Coordinator")
    booking = services.place_hold(
        event=event,
        purchaser=coordinator,
        tickets={event.ticket_types.get().pk: 2},
        attendees=[
            {"attendee_name": "Ivan Petrov", "attendee_email": "ivan@agency.example"},
            {"attendee_name": "", "attendee_email": "priya@agency.example", "invite": True},
        ],
    )
    named, invited = booking.registrations.order_by("pk")
    assert named.attendee is None and not named.awaiting_claim
    assert invited.awaiting_claim

    with django_capture_on_commit_callbacks(execute=True):
        services.confirm_registrations(booking, actor=coordinator)

    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == [
        "coordinator@agency.example",
        "ivan@agency.example",
        "priya@agency.example",
    ]
    invitation = next(m for m in mail.outbox if m.to == ["priya@agency.example"])
    assert "Coordinator has reserved a seat for you" in invitation.body
    assert "Claim it with your own account" in invitation.body

    priya = UserFactory(email="priya.sharma@example.org", legal_name="Priya Sharma")
    services.claim_invited_seat(invited.invitation_token, user=priya)

    invited.refresh_from_db()
    assert invited.attendee == priya and invited.attendee_name == "Priya Sharma"
    with pytest.raises(services.NotAllowed, match="no longer valid"):
        services.claim_invited_seat(invited.invitation_token, user=UserFactory())


def test_materials_only_for_confirmed_registrants_and_staff():
    event = make_event()
    material = Material.objects.create(
        event=event, title="Manual", file=ContentFile(b"manual", name="manual.pdf")
    )
    registrant = UserFactory()
    _confirmed(event, registrant)
    held_only = UserFactory()
    services.place_hold(event=event, purchaser=held_only, tickets={event.ticket_types.get().pk: 1})
    stranger = UserFactory()

    assert services.can_download_material(registrant, material)
    assert services.can_download_material(_event_manager(), material)
    assert not services.can_download_material(held_only, material)
    assert not services.can_download_material(stranger, material)
    assert material.file.storage.open(material.file.name).read() == b"manual"
    # Stored in the private storage, not under MEDIA_ROOT.
    from django.conf import settings

    assert not (settings.MEDIA_ROOT / material.file.name).exists()


def test_membership_lapses_by_itself():
    group = Group.objects.create(name="Member site")
    event = make_event(included_membership=make_plan(group))
    member = UserFactory()
    registration = _confirmed(event, member)
    period = MembershipPeriod.objects.get(registration=registration)
    assert period.ends_at.year == timezone.now().year + 1

    assert services.lapse_memberships(now=timezone.now() + timedelta(days=200)) == 0
    assert member.groups.filter(pk=group.pk).exists()
    assert services.lapse_memberships(now=timezone.now() + timedelta(days=370)) == 1
    assert not member.groups.filter(pk=group.pk).exists()


def test_join_link_appears_only_to_confirmed_registrants_from_the_set_time():
    event = make_event(
        format="webinar", join_url="https://zoom.example/j/123", starts_in=timedelta(days=3)
    )
    registration = _confirmed(event, UserFactory())
    start = event.starts_at

    assert services.join_link_for(registration, now=start - timedelta(minutes=61)) == ""
    assert (
        services.join_link_for(registration, now=start - timedelta(minutes=59))
        == "https://zoom.example/j/123"
    )
    services.cancel_registration(registration, actor=_event_manager())
    registration.refresh_from_db()
    assert services.join_link_for(registration, now=start) == ""


def test_manual_comp_registration_and_message_to_all(django_capture_on_commit_callbacks):
    event = make_event(price=45000, title="FIT Supervision Training")
    manager = _event_manager()
    existing = UserFactory(email="speaker@example.org")

    speaker = services.register_manually(
        event,
        ticket_type=event.ticket_types.get(),
        attendee_name="Scott Miller",
        attendee_email="speaker@example.org",
        kind=BookingKind.SPEAKER,
        actor=manager,
    )
    guest = services.register_manually(
        event,
        ticket_type=event.ticket_types.get(),
        attendee_name="Guest Person",
        attendee_email="guest@example.org",
        kind=BookingKind.COMPLIMENTARY,
        actor=manager,
    )
    assert speaker.attendee == existing and speaker.unit_price == 0
    assert speaker.status == guest.status == RegistrationStatus.CONFIRMED
    assert guest.awaiting_claim
    with pytest.raises(services.NotAllowed):
        services.register_manually(
            event,
            ticket_type=event.ticket_types.get(),
            attendee_name="X",
            attendee_email="x@example.org",
            kind=BookingKind.COMPLIMENTARY,
            actor=existing,
        )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.message_registrants(
            event, subject="Room change", body="We meet in room 4.", actor=manager
        )

    assert sent == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["guest@example.org", "speaker@example.org"]
    assert all(m.subject == "Room change" and "room 4" in m.body for m in mail.outbox)


def test_approval_ticket_waits_for_staff(django_capture_on_commit_callbacks):
    event = make_event()
    ticket = event.ticket_types.get()
    ticket.requires_approval = True
    ticket.save()
    buyer = UserFactory(email="needs-ok@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        booking = services.place_hold(event=event, purchaser=buyer, tickets={ticket.pk: 1})
    assert booking.expires_at is None
    assert mail.outbox[-1].subject.startswith("We received your request")
    with pytest.raises(services.ApprovalRequired):
        services.confirm_registrations(booking)

    manager = _event_manager()
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_approval(booking, approve=True, actor=manager)
    booking.refresh_from_db()
    assert booking.approval_status == ApprovalStatus.APPROVED and booking.expires_at is not None
    assert mail.outbox[-1].subject.startswith("Approved")
    services.confirm_free_booking(booking, actor=buyer)
    assert Registration.objects.get().status == RegistrationStatus.CONFIRMED
