"""The CE Broker roster a CE administrator downloads: refused as a whole while a license
number is shared or malformed or hours lack a subject code; typed cells; each export recorded
so the next one holds only what was not reported; hours rounded down to the body's increment."""

import html
import io
from datetime import datetime
from decimal import Decimal

import pytest
import xlrd
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from pypdf import PdfReader

from certification import services
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import CEBrokerBatch, CEBrokerReportedRow, CreditBasis, EvaluationResponse
from cms.models import AuditRecord
from cms.roles import CE_ADMINISTRATOR
from courses import attendance
from tests.accounts_support import log_in_with_second_factor, make_staff_with_totp

pytestmark = [pytest.mark.django_db, pytest.mark.board]

FL_PATTERN = r"^(SW|MH|MT|ISW|IMH|IMT)\d{3,7}$"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def florida_body(short_name="FL 491", **fields):
    return make_body(
        short_name,
        name="Florida Board of Clinical Social Work, MFT and Mental Health Counseling",
        provider_number="50-SAMPLE1",
        jurisdiction="FL",
        reports_to_ce_broker=True,
        license_number_pattern=FL_PATTERN,
        ce_broker_profession_codes={"LCSW": "1801", "LMHC": "1802"},
        minutes_per_credit=50,
        **fields,
    )


@pytest.fixture
def event():
    make_sponsor()
    event = make_event("Measuring What Matters")
    make_offering(event, florida_body(credit_basis=CreditBasis.FULL_PROGRAM), course_number="20-1")
    return event


@pytest.fixture
def admin(client):
    user, _secret = make_staff_with_totp(email="ce@example.org")
    user.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    log_in_with_second_factor(client, user)
    return user


def certified(event, name, number, profession="LCSW"):
    email = name.lower().replace(" ", ".") + "@example.org"
    registration = make_registration(
        event,
        name=name,
        user=make_user(email, name),
        license_number=number,
        license_jurisdiction="FL",
        profession=profession,
    )
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return services.issue_certificate(registration, notify=False)


def roster_url(event):
    body = event.ce_offerings.get().body
    return reverse("certification_admin:ce_broker", args=[event.pk, body.pk])


def download(client, event, follow=False, **data):
    return client.post(roster_url(event), data, follow=follow)


def sheet_of(response):
    assert response["Content-Type"] == "application/vnd.ms-excel"
    book = xlrd.open_workbook(file_contents=response.content, formatting_info=True)
    return book, book.sheet_by_index(0)


def test_a_shared_license_number_refuses_the_whole_export_and_names_both(client, event, admin):
    certified(event, "Zoe Zimmer", "SW12345")
    certified(event, "Ann Adams", "sw12345")
    certified(event, "Val Valid", "SW99999")

    page = client.get(roster_url(event)).content.decode()
    assert "Nothing can be exported until these are fixed" in page
    assert "License number SW12345 (FL) is on the certificates of Ann Adams and Zoe Zimmer" in page
    assert "reissue their certificate" in page
    assert "Download the .xls" not in page

    response = download(client, event, follow=True)
    assert response["Content-Type"].startswith("text/html")
    assert "Nothing was exported" in response.content.decode()
    assert not CEBrokerBatch.objects.exists()


def test_a_malformed_license_number_refuses_the_whole_export(client, event, admin):
    certified(event, "Typo Tim", "12-345")
    certified(event, "Val Valid", "SW99999")

    page = client.get(roster_url(event)).content.decode()
    assert "Typo Tim: license number “12-345” is not a valid FL 491 license number" in page
    assert "Correct it on their registration" in page
    response = download(client, event)
    assert response.status_code == 302
    assert not CEBrokerBatch.objects.exists()


def test_hours_without_a_subject_code_refuse_the_florida_export(client, admin):
    make_sponsor()
    event = make_event("Partial Credit Day")
    make_offering(event, florida_body(credit_basis=CreditBasis.PER_SESSION), course_number="20-2")
    certified(event, "Val Valid", "SW99999")

    page = client.get(roster_url(event)).content.decode()
    assert (
        "Val Valid: 6.00 hours but the FL 491 offering has no CE Broker subject code (column I)"
        in page
    )
    assert "Enter the subject code on the offering" in page
    assert download(client, event).status_code == 302
    assert not CEBrokerBatch.objects.exists()


def test_cells_are_typed_date_number_and_text(client, admin):
    make_sponsor()
    event = make_event("Partial Credit Day")
    make_offering(
        event,
        florida_body(credit_basis=CreditBasis.PER_SESSION),
        course_number="20-2",
        ce_broker_subject_code="GEN",
    )
    certificate = certified(event, "Val Valid", "SW99999")

    book, sheet = sheet_of(download(client, event))
    assert sheet.nrows == 1
    types = [sheet.cell_type(0, column) for column in range(sheet.ncols)]
    assert types[5] == xlrd.XL_CELL_DATE and types[9] == xlrd.XL_CELL_NUMBER
    assert all(t == xlrd.XL_CELL_TEXT for i, t in enumerate(types) if i not in (2, 3, 5, 9))
    assert xlrd.xldate_as_datetime(sheet.cell_value(0, 5), book.datemode) == datetime.combine(
        certificate.completed_on, datetime.min.time()
    )
    date_format = book.format_map[book.xf_list[sheet.cell_xf_index(0, 5)].format_key]
    assert date_format.format_str == "MM/DD/YYYY"
    assert sheet.cell_value(0, 9) == 6.0
    assert sheet.row_values(0)[:5] == ["SAMPLE1", "2", "", "", "SW99999"]
    assert sheet.row_values(0)[6:9] == ["State=FL", "Profession=1801", "GEN"]


def test_each_export_is_recorded_and_the_next_holds_only_new_licensees(client, event, admin):
    first = certified(event, "Ann Adams", "SW11111")

    _book, sheet = sheet_of(download(client, event))
    assert [sheet.cell_value(r, 4) for r in range(sheet.nrows)] == ["SW11111"]
    batch = CEBrokerBatch.objects.get()
    assert batch.exported_by == admin and not batch.includes_reported
    assert list(CEBrokerReportedRow.objects.values_list("certificate", "license_number")) == [
        (first.pk, "SW11111")
    ]
    record = AuditRecord.objects.get(action="certification.roster.ce_broker_exported")
    assert record.after["certificates"] == [first.code] and record.actor_id == admin.pk

    page = client.get(roster_url(event)).content.decode()
    reported_on = date_format(timezone.localtime(batch.exported_at), "j M Y")
    assert f"1 already reported on {reported_on}." in page and "Rows to upload (0)" in page
    response = download(client, event, follow=True)
    assert "every valid licensee was reported already" in response.content.decode()
    assert CEBrokerBatch.objects.count() == 1

    certified(event, "Bob Brown", "SW22222")
    _book, sheet = sheet_of(download(client, event))
    assert [sheet.cell_value(r, 4) for r in range(sheet.nrows)] == ["SW22222"]

    page = client.get(roster_url(event) + "?include_reported=1").content.decode()
    assert "2 already reported on" in page and "this is a correction file" in page
    _book, sheet = sheet_of(download(client, event, include_reported="1"))
    assert sorted(sheet.cell_value(r, 4) for r in range(sheet.nrows)) == ["SW11111", "SW22222"]
    assert CEBrokerBatch.objects.filter(includes_reported=True).count() == 1


def test_hours_are_rounded_down_to_the_bodys_increment_on_certificate_and_roster(client, admin):
    make_sponsor()
    event = make_event("Short Seminar")
    make_offering(
        event,
        florida_body(credit_basis=CreditBasis.FULL_PROGRAM, credit_increment=Decimal("0.25")),
        hours=Decimal("1.58"),
        course_number="20-3",
    )
    certificate = certified(event, "Val Valid", "SW99999")
    assert [line["hours"] for line in certificate.credits] == ["1.50"]

    pdf_text = PdfReader(io.BytesIO(services.certificate_pdf_bytes(certificate))).pages[0]
    assert "1.50" in pdf_text.extract_text() and "1.58" not in pdf_text.extract_text()
    detail = client.get(reverse("certification:certificate_detail", args=[certificate.code]))
    assert "1.50 hours" in detail.content.decode()

    per_session = make_event("Short Partial Seminar", slug="short-partial")
    make_offering(
        per_session,
        florida_body(
            "FL 491 partial",
            credit_basis=CreditBasis.PER_SESSION,
            credit_increment=Decimal("0.5"),
        ),
        hours=Decimal("1.58"),
        course_number="20-4",
        ce_broker_subject_code="GEN",
    )
    certificate = certified(per_session, "Val Valid", "SW99999")
    assert [line["hours"] for line in certificate.credits] == ["1.50"]
    assert "<td>1.50</td>" in client.get(roster_url(per_session)).content.decode()
    _book, sheet = sheet_of(download(client, per_session))
    assert sheet.cell_value(0, 9) == 1.5


def test_a_certificate_reissued_after_it_was_reported_is_flagged_for_staff(client, event, admin):
    first = certified(event, "Jon Smtih", "SW11111")
    sheet_of(download(client, event))
    registration = first.registration
    registration.attendee_name = "Jon Smith"
    registration.save()
    services.reissue_certificate(first, actor=admin, note="Surname misspelt")

    page = client.get(roster_url(event)).content.decode()
    assert "1 already reported on" in page and "Rows to upload (0)" in page
    assert "Jon Smith's certificate was reissued after it was reported" in html.unescape(page)


def test_an_offering_whose_hours_miss_the_bodys_increment_is_refused(event):
    offering = event.ce_offerings.get()
    offering.hours = Decimal("1.58")
    with pytest.raises(ValidationError) as refused:
        offering.full_clean()
    assert refused.value.message_dict["hours"] == [
        "FL 491 gives credit in steps of 0.25 hours: 1.58 is not a multiple of 0.25. "
        "Enter 1.50 (or the next step up if the program is that long)."
    ]
    offering.hours = Decimal("1.50")
    offering.full_clean()


def test_a_past_batch_downloads_again_as_it_was(client, event, admin):
    certified(event, "Ann Adams", "SW11111")
    first = download(client, event).content
    certified(event, "Bob Brown", "SW22222")
    download(client, event)
    batch = CEBrokerBatch.objects.order_by("pk").first()

    page = client.get(roster_url(event)).content.decode()
    assert "Reported batches" in page and f"Download batch {batch.pk} again" in page
    again = client.get(roster_url(event) + f"?batch={batch.pk}")
    assert again.content == first
    _book, sheet = sheet_of(again)
    assert [sheet.cell_value(r, 4) for r in range(sheet.nrows)] == ["SW11111"]
