"""Every spreadsheet staff download neutralises formulas typed by the public (CSV injection).

A cell that starts with = + - @ tab or carriage return gets a leading apostrophe; numbers and
dates stay real numbers and dates.
"""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook

from certification.factories import make_body, make_event, make_offering, make_registration
from certification.models import (
    EvaluationAnswer,
    EvaluationQuestion,
    EvaluationResponse,
    QuestionKind,
)
from cms.exports import FORMULA_PREFIXES, csv_text, safe_cell, safe_row
from cms.roles import CE_ADMINISTRATOR, EVENT_MANAGER, FINANCE
from courses import attendance
from payments import services as payments
from tests.accounts_support import log_in_with_totp, make_member, make_staff_with_totp

EVIL_NAME = '=HYPERLINK("http://evil.example","x")'
EVIL_LICENSE = "+1-555"


# The helper on its own -----------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_each_formula_prefix_gets_an_apostrophe(prefix):
    assert prefix in FORMULA_PREFIXES
    assert safe_cell(prefix + "1+1") == "'" + prefix + "1+1"


def test_plain_text_numbers_dates_and_empty_cells_are_untouched():
    assert safe_cell("Ana Souza") == "Ana Souza"
    assert safe_cell("") == ""
    assert safe_cell("a=b") == "a=b"
    assert safe_cell("'already quoted") == "'already quoted"
    for value in (
        -5,
        0,
        -2.5,
        Decimal("-12.50"),
        datetime.date(2025, 1, 2),
        datetime.datetime(2025, 1, 2, 3, 4),
        True,
        None,
    ):
        assert safe_cell(value) is value
    # Objects that print as a formula (a page title, a lazy string) are guarded too.
    assert safe_cell(type("Title", (), {"__str__": lambda self: "=1+1"})()) == "'=1+1"
    assert safe_row(["=1", 3, "x"]) == ["'=1", 3, "x"]
    assert csv_text([["@SUM(A1)", Decimal("1.50")]], bom=False) == "'@SUM(A1),1.50\r\n"


# The staff downloads -----------------------------------------------------------------


@pytest.fixture
def evil_event(db):
    cache.clear()
    event = make_event("Measuring What Matters")
    body = make_body("APA")
    make_offering(event, body)
    event.ticket_types.update(price=12500)
    attendee = make_member("evil@example.org", EVIL_NAME)
    evil = make_registration(event, name=EVIL_NAME, user=attendee, license_number=EVIL_LICENSE)
    evil.unit_price = 12500
    evil.save(update_fields=["unit_price"])
    other = make_registration(event, name="Ana Souza", email="ana@example.org")
    for registration in (evil, other):
        for session in event.sessions.all():
            attendance.check_in(registration, session, at=session.start)

    rating = EvaluationQuestion.objects.create(
        event=event, kind=QuestionKind.RATING, prompt="Overall quality"
    )
    comments = EvaluationQuestion.objects.create(
        event=event, kind=QuestionKind.TEXT, prompt="Comments", required=False
    )
    for registration, text in ((evil, "@SUM(A1)"), (other, "-2+3")):
        response = EvaluationResponse.objects.create(registration=registration, event=event)
        EvaluationAnswer.objects.create(response=response, question=rating, rating=5)
        EvaluationAnswer.objects.create(response=response, question=comments, text=text)

    order = payments.order_for_booking(evil.booking)
    order.po_number = "-PO-1"
    order.save(update_fields=["po_number"])
    return event, body, order


@pytest.fixture
def staff_client(client, db):
    user, secret = make_staff_with_totp(email="staff@example.org")
    for role in (CE_ADMINISTRATOR, EVENT_MANAGER, FINANCE):
        user.groups.add(Group.objects.get(name=role))
    final = log_in_with_totp(client, user.email, secret)
    assert final.status_code == 200
    return client


def _rows(response):
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _row_of(rows, marker):
    return next(row for row in rows if any(marker in cell for cell in row))


def test_ce_attendance_and_credit_csv(staff_client, evil_event):
    event, body, _order = evil_event
    rows = _rows(
        staff_client.get(reverse("certification_admin:attendance_roster", args=[event.pk, body.pk]))
    )
    header = rows[0]
    evil = _row_of(rows, "HYPERLINK")
    assert evil[0] == "'" + EVIL_NAME
    assert evil[1] == "evil@example.org"
    assert EVIL_LICENSE in evil[2]
    # Minutes per session and the credit hours are plain numbers.
    hours_column = header.index("APA credit hours")
    for cell in evil[3:hours_column]:
        assert int(cell) > 0
    assert Decimal(evil[hours_column]) > 0
    assert _row_of(rows, "Ana Souza")[0] == "Ana Souza"


def test_evaluation_results_csv(staff_client, evil_event):
    event, _body, _order = evil_event
    rows = _rows(
        staff_client.get(reverse("certification_admin:evaluation", args=[event.pk]) + "?format=csv")
    )
    assert rows[0] == ["Submitted at (UTC)", "Attendee", "Email", "Overall quality", "Comments"]
    evil = _row_of(rows, "HYPERLINK")
    assert evil[1] == "'" + EVIL_NAME
    assert evil[3] == "5"
    assert evil[4] == "'@SUM(A1)"
    ana = _row_of(rows, "Ana Souza")
    assert ana[3:] == ["5", "'-2+3"]
    # The submission time stays a date, not quoted text.
    assert datetime.datetime.fromisoformat(ana[0])


def test_finance_orders_csv(staff_client, evil_event):
    _event, _body, order = evil_event
    rows = _rows(staff_client.get(reverse("payments_admin:orders_csv")))
    header = rows[0]
    row = _row_of(rows, order.reference)
    assert row[header.index("Purchaser")] == "'" + EVIL_NAME
    assert row[header.index("PO number")] == "'-PO-1"
    assert row[header.index("Total")] == "125.00"
    assert Decimal(row[header.index("Paid")]) == 0
    assert datetime.datetime.strptime(row[header.index("Created (UTC)")], "%Y-%m-%d %H:%M")


def test_event_roster_csv_and_xlsx(staff_client, evil_event):
    event, _body, _order = evil_event
    rows = _rows(staff_client.get(reverse("courses_admin:roster", args=[event.pk, "csv"])))
    header = rows[0]
    evil = _row_of(rows, "HYPERLINK")
    assert evil[0] == "'" + EVIL_NAME
    assert evil[header.index("License number")] == "'" + EVIL_LICENSE

    response = staff_client.get(reverse("courses_admin:roster", args=[event.pk, "xlsx"]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    evil = next(row for row in values if "HYPERLINK" in str(row[0]))
    assert evil[0] == "'" + EVIL_NAME
    assert evil[values[0].index("License number")] == "'" + EVIL_LICENSE
