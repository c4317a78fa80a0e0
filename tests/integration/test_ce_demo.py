"""The demo: SAMPLE approvals, attendance and certificates for the past conference; the CE
Broker roster for that event in CE Broker's column layout."""

import io

import pytest
import xlrd

from certification import demo, rosters
from certification.models import AccreditingBody, Certificate, CertificateStatus
from courses import demo as courses_demo

pytestmark = pytest.mark.django_db


def test_demo_certificates_and_ce_broker_roster():
    out = io.StringIO()
    courses_demo.load_demo_content(out)
    demo.load_demo_content(out)
    demo.load_demo_content(out)  # a second run changes nothing

    assert AccreditingBody.objects.filter(is_sample_data=True).count() == 4
    assert all("SAMPLE" in b.provider_number for b in AccreditingBody.objects.all())
    certificates = Certificate.objects.filter(status=CertificateStatus.ISSUED)
    # Six of the eight attendees submitted the evaluation and are certified; the latecomer
    # and the early leaver have not, so the issuing screen lists them as missing it.
    assert certificates.count() == 6
    names = set(certificates.values_list("attendee_name", flat=True))
    assert {"Мария Иванова", "李明", "محمد الأحمد", "प्रिया शर्मा"} <= names

    past = certificates.first().event
    body = AccreditingBody.objects.get(short_name="FL 491")
    roster = rosters.ce_broker_roster(past, body)
    assert not roster.problems
    book = xlrd.open_workbook(file_contents=rosters.ce_broker_xls(roster))
    sheet = book.sheet_by_index(0)
    assert sheet.nrows == len(roster.rows) > 0
    for index in range(sheet.nrows):
        provider, course, own_id, publishing, license_number, date, state, profession, *rest = (
            sheet.row_values(index)
        )
        assert (provider, course, own_id, publishing) == ("SAMPLE", "000001", "", "")
        assert license_number.startswith("SW")
        assert sheet.cell_type(index, 5) == xlrd.XL_CELL_DATE
        assert xlrd.xldate_as_datetime(date, book.datemode).year >= 2000
        assert state == "State=FL"
        assert profession in {"Profession=1801", "Profession=1802", "Profession=1803"}
        assert rest[0] == "SAMPLE" and rest[1] > 0  # partial credit: subject code, hours
    # Psychologists have no FL 491 profession code: refused and listed, not exported.
    assert any("no CE Broker profession code" in r["reason"] for r in roster.refused)
