"""Check-in on a phone, the QR pass, self check-in with the presenter's code, Zoom upload."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from certification.factories import make_event, make_registration, make_user
from cms.models import AuditRecord
from cms.roles import EVENT_MANAGER
from courses import attendance
from courses.models import AttendanceSource, RegistrationStatus, SessionAttendance
from tests.accounts_support import (
    acting_with_second_factor,
    log_in_with_second_factor,
    make_staff_with_totp,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return make_event("Outcome Measures Workshop", time_zone="America/Chicago")


@pytest.fixture
def door_staff(client):
    user, _secret = make_staff_with_totp(email="door@example.org")
    user.groups.add(Group.objects.get(name=EVENT_MANAGER))
    log_in_with_second_factor(client, user)
    return user


def first_session(event):
    return event.sessions.order_by("start").first()


def test_staff_search_by_name_and_check_in_and_out(client, event, door_staff):
    zoe = make_registration(event, name="Zoë Ångström")
    make_registration(event, name="Other Person")
    session = first_session(event)
    url = reverse("attendance:check_in", args=[event.pk])

    page = client.get(url, {"session": session.pk, "q": "zoë"}).content.decode()
    assert "Zoë Ångström" in page and "Other Person" not in page

    record = reverse("attendance:record", args=[event.pk, session.pk, zoe.public_id, "check-in"])
    response = client.post(record, {"q": "zoë"}, follow=True)
    assert "Zoë Ångström checked in to Session one" in response.content.decode()
    entry = SessionAttendance.objects.get(registration=zoe)
    assert entry.recorded_by == door_staff and entry.source == AttendanceSource.STAFF

    leave = reverse("attendance:record", args=[event.pk, session.pk, zoe.public_id, "check-out"])
    response = client.post(leave, follow=True)
    assert "checked out of Session one" in response.content.decode()
    entry.refresh_from_db()
    assert entry.checked_out_at is not None
    assert AuditRecord.objects.filter(
        action="courses.attendance.checked_out", object_id=str(entry.pk)
    ).exists()


@pytest.mark.parametrize(
    ("typed", "found"),
    [("nunez", "María Núñez"), ("SOREN", "Søren Kierkegaard"), ("nguyen", "Nguyễn Văn An")],
)
def test_check_in_search_ignores_case_and_accents(client, event, door_staff, typed, found):
    for name in ("María Núñez", "Søren Kierkegaard", "Nguyễn Văn An"):
        make_registration(event, name=name)
    url = reverse("attendance:check_in", args=[event.pk])

    page = client.get(url, {"session": first_session(event).pk, "q": typed}).content.decode()

    assert found in page
    others = {"María Núñez", "Søren Kierkegaard", "Nguyễn Văn An"} - {found}
    assert not any(name in page for name in others)
    # The floating Wagtail userbar stays off the phone screen (it covered the search box).
    assert "wagtail-userbar" not in page


def test_the_search_is_kept_after_checking_someone_in(client, event, door_staff):
    amp = make_registration(event, name="Ann & Bo Lee")
    session = first_session(event)
    record = reverse("attendance:record", args=[event.pk, session.pk, amp.public_id, "check-in"])

    response = client.post(record, {"q": "ann & bo"})

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Ann &amp; Bo Lee" in page


def test_cancelled_registration_cannot_be_checked_in(client, event, door_staff):
    gone = make_registration(event, name="Gone Gary", status=RegistrationStatus.CANCELLED)
    session = first_session(event)
    token = attendance.check_in_token(gone)
    page = client.get(reverse("attendance:scan", args=[token])).content.decode()
    assert "not confirmed" in page
    record = reverse("attendance:record", args=[event.pk, session.pk, gone.public_id, "check-in"])
    response = client.post(record, follow=True)
    assert "not confirmed" in response.content.decode()
    assert not SessionAttendance.objects.exists()


def test_scanning_the_attendees_qr_pass_opens_their_check_in(client, event, door_staff):
    user = make_user("pass@example.org", "Pat Pass")
    registration = make_registration(event, name="Pat Pass", user=user)
    client.force_login(user)
    # The signed token carries the second it was made: page and expectation share one clock.
    with time_machine.travel(timezone.now(), tick=False):
        pass_page = client.get(reverse("attendance:pass", args=[registration.public_id]))
        scan_url = attendance_views_url(registration)
    assert 'src="data:image/png;base64,' in pass_page.content.decode()
    assert scan_url in pass_page.context["url"]

    log_in_with_second_factor(client, door_staff)
    page = client.get(scan_url).content.decode()
    assert "Pat Pass" in page and "Check in" in page

    tampered = scan_url.replace("/scan/", "/scan/x")
    response = client.get(tampered)
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_staff_void_a_wrong_check_in_with_a_reason(client, event, door_staff):
    registration = make_registration(event, name="Wrong Wanda")
    session = first_session(event)
    entry, _ = attendance.check_in(
        registration, session, actor=acting_with_second_factor(door_staff)
    )
    url = reverse("attendance:void", args=[entry.pk])

    response = client.post(url, {"reason": ""}, follow=True)
    assert "Say why this entry is wrong" in response.content.decode()
    response = client.post(url, {"reason": "Checked in the wrong Wanda"}, follow=True)
    assert "is voided" in response.content.decode()
    entry.refresh_from_db()
    assert entry.void_reason == "Checked in the wrong Wanda" and entry.voided_by == door_staff


def attendance_views_url(registration):
    from courses.attendance_views import check_in_pass_url

    return check_in_pass_url(registration)


def test_attendees_and_strangers_cannot_open_staff_pages(client, event):
    registration = make_registration(event)
    client.force_login(make_user("nosy@example.org", "Nosy"))
    session = first_session(event)
    for url in (
        reverse("attendance:events"),
        reverse("attendance:check_in", args=[event.pk]),
        reverse("attendance:scan", args=[attendance.check_in_token(registration)]),
        reverse("attendance:presenter_code", args=[session.pk]),
        reverse("attendance:zoom_import", args=[event.pk]),
    ):
        assert client.get(url).status_code == 403, url
    record = reverse(
        "attendance:record", args=[event.pk, session.pk, registration.public_id, "check-in"]
    )
    assert client.post(record).status_code == 403
    assert client.get(reverse("attendance:pass", args=[registration.public_id])).status_code == 404
    assert not SessionAttendance.objects.exists()


def test_self_check_in_with_the_presenters_code(client, event, door_staff):
    session = first_session(event)
    code_page = client.get(reverse("attendance:presenter_code", args=[session.pk]))
    code = code_page.context["code"].code
    assert code in code_page.content.decode()

    user = make_user("self@example.org", "Sally Self")
    registration = make_registration(event, name="Sally Self", user=user)
    client.force_login(user)
    url = reverse("attendance:self_check_in")

    with time_machine.travel(session.start - timedelta(hours=3)):
        page = client.post(url, {"code": code}).content.decode()
        assert "is open from 30 minutes before it starts" in page

    with time_machine.travel(session.start + timedelta(minutes=5)):
        page = client.post(url, {"code": "WRONG1"}).content.decode()
        assert "does not match any session" in page
        response = client.post(url, {"code": code.lower()}, follow=True)
        assert "You are checked in to “Session one" in response.content.decode()
    entry = SessionAttendance.objects.get(registration=registration)
    assert entry.source == AttendanceSource.SELF_CODE


def test_zoom_upload_page_reports_refusal_and_unmatched(client, door_staff):
    event = make_event("Webinar", format="webinar", time_zone="America/New_York")
    make_registration(event, name="Known Kim", email="kim@example.org")
    session = first_session(event)
    start = event.local(session.start).strftime("%m/%d/%Y %I:%M:%S %p")
    end = event.local(session.end).strftime("%m/%d/%Y %I:%M:%S %p")
    good = (
        "\ufeffAttendee Details\r\n"
        "Attended,User Name (Original Name),Email,Join Time,Leave Time\r\n"
        f"Yes,Kim,kim@example.org,{start},{end}\r\nYes,Who,who@example.org,{start},{end}\r\n"
    ).encode()
    url = reverse("attendance:zoom_import", args=[event.pk])

    response = client.post(
        url, {"report": SimpleUploadedFile("zoom.csv", good, "text/csv")}, follow=True
    )
    page = response.content.decode()
    assert "The report was imported" in page
    assert "who@example.org" in page and "Unmatched rows" in page

    bad = good.replace(b"Leave Time", b"Left")
    response = client.post(url, {"report": SimpleUploadedFile("bad.csv", bad)}, follow=True)
    page = response.content.decode()
    assert "Nothing was imported" in page and "“Leave Time”" in page
