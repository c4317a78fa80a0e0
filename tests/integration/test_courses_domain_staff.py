"""Staff screens: only event managers see registrations, rosters, waitlists and forms."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone
from openpyxl import load_workbook

from cms.models import AuditRecord
from cms.roles import EDITOR, EVENT_MANAGER
from courses import services
from courses.factories import UserFactory, make_event, register_with_ce
from courses.models import (
    Booking,
    BookingKind,
    BookingStatus,
    Registration,
    RegistrationQuestion,
    RegistrationStatus,
    WaitlistStatus,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def event_with_registrants():
    event = make_event(title="FIT Supervision Training", capacity=3)
    question = RegistrationQuestion.objects.create(event=event, label="Your agency")
    for name, email in [("Zoë Ångström", "zoe@example.org"), ("=HYPERLINK(1)", "x@example.org")]:
        user = UserFactory(email=email, legal_name=name)
        booking = services.place_hold(
            event=event,
            purchaser=user,
            tickets={event.ticket_types.get().pk: 1},
            attendees=[
                {
                    "attendee_name": name,
                    "attendee_email": email,
                    "license_number": "MH123",
                    "answers": {str(question.pk): "County clinic"},
                }
            ],
        )
        services.confirm_registrations(booking)
    mail.outbox.clear()
    return event


def test_event_manager_lists_searches_and_filters_registrations(
    client, event_with_registrants, staff_signed_in
):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    other = make_event(title="Another Event")
    services.place_hold(
        event=other,
        purchaser=UserFactory(legal_name="Other Person"),
        tickets={other.ticket_types.get().pk: 1},
    )

    listing = client.get("/admin/course_registrations/", {"event": event_with_registrants.pk})
    text = listing.content.decode()
    assert "Zoë Ångström" in text and "Other Person" not in text

    found = client.get("/admin/course_registrations/", {"q": "zoe@"}).content.decode()
    assert "Zoë Ångström" in found and "HYPERLINK" not in found


def test_roster_exports_as_csv_and_xlsx(client, event_with_registrants, staff_signed_in):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = event_with_registrants

    response = client.get(f"/admin/events-admin/events/{event.pk}/roster.csv")
    assert response["Content-Disposition"] == f'attachment; filename="roster-{event.slug}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Legal name", "Email", "Ticket"] and rows[0][-1] == "Your agency"
    assert rows[1][:2] == ["'=HYPERLINK(1)", "x@example.org"]
    assert rows[2][0] == "Zoë Ångström" and rows[2][-1] == "County clinic"

    response = client.get(f"/admin/events-admin/events/{event.pk}/roster.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[2][0] == "Zoë Ångström" and values[2][5] == "MH123"


def test_capacity_overview_shows_the_counts_and_manual_registration_fills_a_seat(
    client, event_with_registrants, django_capture_on_commit_callbacks, staff_signed_in
):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = event_with_registrants
    assert '"label": "Registrations"' in client.get("/admin/").content.decode()
    overview = client.get("/admin/events-admin/").content.decode()
    assert "FIT Supervision Training" in overview
    assert "Roster XLSX" in overview

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/events-admin/events/{event.pk}/register/",
            {
                "ticket_type": event.ticket_types.get().pk,
                "attendee_name": "Scott Miller",
                "attendee_email": "scott@example.org",
                "kind": "speaker",
            },
        )
    assert response.status_code == 302
    registration = Registration.objects.get(attendee_email="scott@example.org")
    assert registration.status == RegistrationStatus.CONFIRMED and registration.unit_price == 0
    assert registration.booking.kind == BookingKind.SPEAKER
    welcome = next(m for m in mail.outbox if m.to == ["scott@example.org"])
    assert welcome.subject == "You are registered: FIT Supervision Training"
    assert "Please link this seat to your own account" in welcome.body

    full = client.post(
        f"/admin/events-admin/events/{event.pk}/register/",
        {
            "ticket_type": event.ticket_types.get().pk,
            "attendee_name": "One Too Many",
            "attendee_email": "late@example.org",
            "kind": "complimentary",
        },
    )
    assert "sold out" in full.content.decode()
    assert not Registration.objects.filter(attendee_email="late@example.org").exists()


def test_message_all_registrants_form(
    client, event_with_registrants, django_capture_on_commit_callbacks, staff_signed_in
):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = event_with_registrants

    with django_capture_on_commit_callbacks(execute=True):
        empty = client.post(f"/admin/events-admin/events/{event.pk}/message/", {"subject": ""})
    assert "This field is required" in empty.content.decode()
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/admin/events-admin/events/{event.pk}/message/",
            {"subject": "Parking", "body": "Use the north garage."},
        )
    assert sorted(m.to[0] for m in mail.outbox) == ["x@example.org", "zoe@example.org"]
    assert "Use the north garage." in mail.outbox[0].body


def test_staff_cancel_and_approval_decisions(client, event_with_registrants, staff_signed_in):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = event_with_registrants
    registration = Registration.objects.filter(event=event).first()
    event.capacity = 2
    event.save()
    entry = services.join_waitlist(event, user=UserFactory(email="waiting@example.org"))
    # After the attendee's cut-off, staff can still cancel.
    event.cancellation_cutoff_hours = 24 * 365
    event.save()

    client.post(f"/admin/events-admin/registrations/{registration.pk}/cancel/")

    registration.refresh_from_db()
    entry.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED
    assert entry.status == WaitlistStatus.OFFERED
    waitlist = client.get("/admin/course_waitlist/", {"event": event.pk}).content.decode()
    assert entry.user.legal_name in waitlist and "Seat offered" in waitlist

    approval_event = make_event()
    ticket = approval_event.ticket_types.get()
    ticket.requires_approval = True
    ticket.save()
    booking = services.place_hold(
        event=approval_event, purchaser=UserFactory(), tickets={ticket.pk: 1}
    )
    assert "Waiting for approval" in client.get("/admin/events-admin/").content.decode()
    client.post(f"/admin/events-admin/bookings/{booking.pk}/approval/", {"decision": "reject"})
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED


@pytest.mark.parametrize(
    "path",
    [
        "/admin/course_registrations/",
        "/admin/course_waitlist/",
        "/admin/course_materials/",
        "/admin/events-admin/",
        "/admin/events-admin/events/{event}/roster.csv",
        "/admin/events-admin/events/{event}/message/",
        "/admin/events-admin/events/{event}/register/",
    ],
)
def test_other_staff_roles_are_refused(client, event_with_registrants, path, staff_signed_in):
    staff_signed_in(EDITOR, email="editor@example.org")

    response = client.get(path.format(event=event_with_registrants.pk))
    assert response.status_code == 302 and response.url == "/admin/"

    text = client.get(response.url).content.decode()
    assert "Sorry, you do not have permission to access this area." in text
    assert "Zoë Ångström" not in text
    assert '"label": "Registrations"' not in text, "the menu item is hidden too"


def test_signed_out_visitors_are_sent_to_log_in(client, event_with_registrants):
    response = client.get(f"/admin/events-admin/events/{event_with_registrants.pk}/roster.csv")
    assert response.status_code == 302 and "/login/" in response.url


def test_manager_attaches_material_to_private_storage(client, settings, staff_signed_in):
    from django.core.files.uploadedfile import SimpleUploadedFile

    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = make_event(starts_in=timedelta(days=5))
    response = client.post(
        "/admin/course_materials/new/",
        {
            "event": event.pk,
            "title": "PCOMS manual",
            "kind": "manual",
            "file": SimpleUploadedFile("pcoms.pdf", b"%PDF-1.4 manual", "application/pdf"),
            "available_from": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    material = event.materials.get()
    assert material.file.read() == b"%PDF-1.4 manual"
    assert (settings.PRIVATE_MEDIA_ROOT / material.file.name).exists()
    assert not (settings.MEDIA_ROOT / material.file.name).exists()


def test_event_managers_publish_events_but_not_other_pages():
    event = make_event()
    manager = UserFactory(email="pages@example.org")
    manager.groups.add(Group.objects.get(name=EVENT_MANAGER))

    assert event.permissions_for_user(manager).can_publish()
    assert event.get_parent().permissions_for_user(manager).can_add_subpage()
    assert not event.get_parent().get_parent().permissions_for_user(manager).can_edit()


def test_manager_corrects_attendee_details_through_the_service(
    client, event_with_registrants, staff_signed_in
):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    registration = Registration.objects.get(attendee_email="zoe@example.org")

    response = client.post(
        f"/admin/course_registrations/edit/{registration.pk}/",
        {
            "attendee_name": "Zoë Ångström-Berg",
            "attendee_email": "zoe@example.org",
            "license_number": "MH999",
            "license_jurisdiction": "FL",
            "profession": "Counselor",
            "wants_ce": "on",
            "accessibility_needs": "",
            "dietary_needs": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    registration.refresh_from_db()
    assert registration.attendee_name == "Zoë Ångström-Berg"
    assert registration.license_number == "MH999"
    assert AuditRecord.objects.filter(
        action="courses.registration.details_changed", object_id=str(registration.pk)
    ).exists()


def test_event_editor_explains_which_zone_times_are_entered_in(client, staff_signed_in):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = make_event()

    page = client.get(f"/admin/pages/{event.pk}/edit/").content.decode()

    assert "Enter times in your admin time zone" in page
    assert "What participants receive" in page and "Ticket type" in page


def test_staff_transfer_a_seat_from_the_registrations_list_after_the_cut_off(
    client, event_with_registrants, django_capture_on_commit_callbacks, staff_signed_in
):
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = event_with_registrants
    event.cancellation_cutoff_hours = 24 * 365  # the attendee's own deadline has passed
    event.save()
    registration = Registration.objects.get(event=event, attendee_email="zoe@example.org")
    transfer_url = f"/admin/events-admin/registrations/{registration.pk}/transfer/"

    listing = client.get("/admin/course_registrations/").content.decode()
    assert "Transfer to someone else" in listing and transfer_url in listing
    assert f"/admin/events-admin/registrations/{registration.pk}/cancel/" in listing

    refused = client.post(transfer_url, {"new_name": "Zoë again", "new_email": "zoe@example.org"})
    assert "Enter the email address of the person taking the seat." in refused.content.decode()
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            transfer_url,
            {"new_name": "Мария Иванова", "new_email": "maria@example.org"},
            follow=True,
        )

    assert "The seat now belongs to Мария Иванова" in done.content.decode()
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.TRANSFERRED
    successor = Registration.objects.get(event=event, attendee_email="maria@example.org")
    assert successor.status == RegistrationStatus.CONFIRMED
    assert successor.attendee_name == "Мария Иванова"
    assert "maria@example.org" in [m.to[0] for m in mail.outbox]


def test_other_roles_cannot_transfer_a_seat(client, event_with_registrants, staff_signed_in):
    staff_signed_in(EDITOR, email="editor@example.org")
    registration = Registration.objects.filter(event=event_with_registrants).first()

    response = client.post(
        f"/admin/events-admin/registrations/{registration.pk}/transfer/",
        {"new_name": "Someone", "new_email": "someone@example.org"},
    )

    # Wagtail turns the refusal into a redirect to the dashboard with its "no permission" note.
    assert response.status_code == 302 and response.url == "/admin/"
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_capacity_overview_shows_start_in_the_events_zone(client, staff_signed_in):
    # 9:00 local in New York is 14:00 (EST) or 13:00 (EDT) UTC: the page must show 9:00 AM.
    event = make_event(title="Zone Webinar", time_zone="America/New_York")
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")

    overview = client.get("/admin/events-admin/").content.decode()

    local = timezone.localtime(event.sessions.get().start, event.zone)
    assert local.hour == 9
    assert f"{local:%-d %b %Y}, 9:00 AM America/New_York" in overview
    assert "14:00 America/New_York" not in overview
    assert "13:00 America/New_York" not in overview


def test_registrations_listing_shows_ce_as_yes_or_no(client, staff_signed_in):
    event = make_event(title="FIT Supervision Training")
    register_with_ce(event, UserFactory(email="wants@example.org", legal_name="Casey Clinician"))
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")

    listing = client.get("/admin/course_registrations/", {"event": event.pk}).content.decode()

    header = re.search(r"<thead>(.*?)</thead>", listing, re.S).group(1)
    assert re.search(r">\s*CE\s*<", header)
    assert "Wants ce" not in listing
    body = re.search(r"<tbody>(.*?)</tbody>", listing, re.S).group(1)
    assert re.search(r">\s*Yes\s*<", body)
    assert "True" not in body
