"""The demo: SAMPLE approvals, attendance and certificates for the past conference; the CE
Broker roster for that event in CE Broker's column layout."""

import html
import io
import re

import pytest
import xlrd
from django.core.management import call_command
from wagtail.documents import get_document_model

from certification import demo, rosters
from certification.models import AccreditingBody, Certificate, CertificateStatus
from courses import demo as courses_demo
from courses.models import EventFormat, EventPage

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


def visible_text(response):
    """The page's text as a reader sees it: no tags, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _demo_rows():
    """How many of each row the demo's on-demand course is made of."""
    from certification.models import CEOffering, EvaluationQuestion, EventCESettings
    from certification.trainers.models import Choice, Question, QuestionBank
    from courses.models import EventRecording, TicketType

    models = [EventPage, EventRecording, get_document_model(), TicketType, CEOffering]
    models += [EvaluationQuestion, EventCESettings, QuestionBank, Question, Choice]
    return {model.__name__: model.objects.count() for model in models}


def test_demo_on_demand_course_is_listed_priced_recorded_and_post_tested(client):
    call_command("load_demo", stdout=io.StringIO())
    rows = _demo_rows()

    listing = client.get("/events/?when=on_demand")
    assert listing.status_code == 200
    text = visible_text(listing)
    assert "No on-demand courses yet" not in text
    assert f"{courses_demo.WEBINAR_TITLE} (on demand)" in text

    course = EventPage.objects.get(format=EventFormat.ON_DEMAND, live=True)
    assert course.title == f"{courses_demo.WEBINAR_TITLE} (on demand)"
    assert course.presenters.get().name == "David Prescott"
    page = visible_text(client.get(course.url))
    assert "$39.00" in page and "1.5 hours of home-study CE" in page
    assert "live interactive" not in page  # the webinar's CE note, edited for home study
    statements = [o.home_study_statement for o in course.ce_offerings.all()]
    assert len(statements) == 4 and all(s.startswith(demo.SAMPLE_NOTE) for s in statements)
    assert "This home-study program has been approved by NBCC" in page
    assert all(o.course_number for o in course.ce_offerings.all())

    prompts = list(course.evaluation_questions.values_list("prompt", flat=True))
    assert any("sexual aggression" in prompt for prompt in prompts)
    assert not any("ORS and SRS" in prompt for prompt in prompts)  # the conference's

    recording = course.recordings.get()
    assert "placeholder" in recording.title
    assert recording.video.file.read(12)[4:8] == b"ftyp"  # an MP4 ffmpeg made
    settings = course.ce_settings
    assert settings.is_recorded and settings.post_test_wait_hours <= 24
    bank = settings.post_test
    assert (bank.pass_mark_percent, bank.attempt_limit) == (75, 3)
    questions = list(bank.questions.all())
    assert 3 <= len(questions) <= 4
    assert all(q.choices.filter(is_correct=True).exists() for q in questions)

    call_command("load_demo", stdout=io.StringIO())
    assert _demo_rows() == rows
