"""A home-study course's certificate where the issue says it must appear: the CE Broker roster
(the offering's own home-study course number, only those whose credit under that body is
earned, the home-study completion date), the transcript (CSV and PDF) and the Open Badge."""

import csv
import io
import json
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
import xlrd
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.factories import make_body, make_registration, make_sponsor
from certification.models import CreditBasis, EvaluationQuestion, QuestionKind
from cms.roles import CE_ADMINISTRATOR
from courses import attendance
from courses import services as courses_services
from courses.factories import make_event
from courses.models import EventFormat
from courses.services.on_demand import on_demand_course_from
from tests.accounts_support import log_in_with_second_factor, make_member, make_staff_with_totp
from tests.integration.test_post_tests import answers_for, make_bank
from tests.watching_support import FAKE_VIDEO, make_recording

pytestmark = pytest.mark.django_db

LIVE_COURSE_NUMBER = "20-700001"
HOME_STUDY_COURSE_NUMBER = "20-800002"
LIVE_STATEMENT = "Approved by the Florida board for live continuing education."
HOME_STUDY_STATEMENT = (
    "Approved by the Florida board for home study (self-paced) continuing education."
)
FL_PATTERN = r"^(SW|MH|MT)\d{3,7}$"


def florida_body():
    """A board reported through CE Broker that asks home-study attendees to watch 80%."""
    return make_body(
        "FL 491",
        name="Florida Board of Clinical Social Work, MFT and Mental Health Counseling",
        provider_number="50-SAMPLE1",
        approval_statement=LIVE_STATEMENT,
        jurisdiction="FL",
        reports_to_ce_broker=True,
        license_number_pattern=FL_PATTERN,
        ce_broker_profession_codes={"LCSW": "1801"},
        minutes_per_credit=50,
        credit_basis=CreditBasis.FULL_PROGRAM,
        home_study_watched_percent=80,
    )


def home_study_course(*, seconds=100, video=FAKE_VIDEO, price=4500, questions=None):
    """A paid on-demand course made by the staff action from a past live webinar, set up as
    staff finish it: the home-study course number and statement on its Florida offering, a
    recording, a post-test (no wait between attempts), an evaluation question, and
    certificates issued when the evaluation comes in. The webinar keeps its own number."""
    make_sponsor()
    body = florida_body()
    started = timezone.now() - timedelta(days=30)
    webinar = make_event(
        title="December webinar with David Prescott",
        format=EventFormat.WEBINAR,
        sessions=[("Feedback in supervision", started, 90, 90)],
        price=price,
        time_zone="America/New_York",
    )
    webinar.ce_offerings.create(body=body, hours=Decimal("1.50"), course_number=LIVE_COURSE_NUMBER)
    EvaluationQuestion.objects.create(
        event=webinar, kind=QuestionKind.RATING, prompt="How useful was the course?"
    )
    course = on_demand_course_from(webinar, actor=None)
    course.ce_offerings.filter(body=body).update(
        course_number=HOME_STUDY_COURSE_NUMBER, home_study_statement=HOME_STUDY_STATEMENT
    )
    bank = make_bank(questions=questions) if questions else make_bank()
    course.ce_settings.post_test = bank
    course.ce_settings.post_test_wait_hours = 0
    course.ce_settings.auto_issue_on_evaluation = True
    course.ce_settings.save()
    make_recording(course, "Part 1", duration=seconds, content=video)
    course.save_revision().publish()
    course.refresh_from_db()
    return course


def watch(seat, seconds, *, at):
    """Play the first `seconds` of the course's recording at normal speed, from `at`."""
    recording = seat.event.recordings.get()
    for second in range(0, seconds, 20):
        at += timedelta(seconds=21)
        courses_services.record_heartbeat(
            seat,
            recording,
            played_from=second,
            played_to=min(second + 20, seconds),
            position=min(second + 20, seconds),
            now=at,
        )


def pass_post_test(seat):
    attempt = services.start_post_test(seat, actor=seat.attendee)
    answers = {key[1:]: value for key, value in answers_for(attempt, right=True).items()}
    return services.submit_post_test(attempt, actor=seat.attendee, answers=answers)


def evaluate(seat):
    question = seat.event.evaluation_questions.get()
    return services.submit_evaluation(seat, {question.pk: 5}, actor=seat.attendee)


def licensee(course, email, name, number):
    person = make_member(email, name)
    return make_registration(
        course,
        name=name,
        user=person,
        license_number=number,
        license_jurisdiction="FL",
        profession="LCSW",
    )


def local_noon(course, days_ago):
    day = timezone.localtime(timezone.now(), course.zone).date() - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, 12, tzinfo=course.zone)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def course():
    return home_study_course()


@pytest.fixture
def finished(course):
    """Hope watched everything five days ago, passed the post-test three days ago and
    submitted the evaluation two days ago (which issued her certificate); Sam passed and
    evaluated too but watched only half, less than Florida's 80%."""
    hope = licensee(course, "hope@example.org", "Hope Homestudy", "SW12345")
    sam = licensee(course, "sam@example.org", "Sam Skimmer", "SW67890")
    with time_machine.travel(local_noon(course, 5)):
        watch(hope, 100, at=timezone.now())
        watch(sam, 50, at=timezone.now())
    with time_machine.travel(local_noon(course, 3)):
        pass_post_test(hope)
        pass_post_test(sam)
    with time_machine.travel(local_noon(course, 2)):
        evaluate(hope)
        evaluate(sam)
    return hope, sam


@pytest.fixture
def ce_admin():
    user, _secret = make_staff_with_totp(email="ce@example.org", legal_name="Cora Admin")
    user.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    client = Client()
    log_in_with_second_factor(client, user)
    return client


def test_only_the_licensee_whose_credit_is_earned_has_a_certificate(course, finished):
    hope, sam = finished
    [certificate] = hope.certificates.all()
    assert certificate.program_format == "Home study (recorded program)"
    assert certificate.completed_on == local_noon(course, 2).date()
    [line] = certificate.credits
    assert (line["course_number"], line["statement"]) == (
        HOME_STUDY_COURSE_NUMBER,
        HOME_STUDY_STATEMENT,
    )
    assert not sam.certificates.exists()
    state = services.eligibility(sam)
    assert "watched 50% of the recordings, and FL 491 requires 80%" in state.reason


def test_the_roster_has_the_home_study_course_number_and_completion_date(
    course, finished, ce_admin
):
    body = course.ce_offerings.get().body
    url = reverse("certification_admin:ce_broker", args=[course.pk, body.pk])

    page = " ".join(ce_admin.get(url).content.decode().split())
    assert "Rows to upload (1)" in page
    assert "SW12345" in page and "800002" in page
    completed = local_noon(course, 2).date()
    assert completed.strftime("%m/%d/%Y") in page
    # The live webinar's number is not the course's; the one who watched too little is not
    # refused, they are not on the roster at all (nothing earned, nothing to report).
    assert "700001" not in page
    assert "Sam Skimmer" not in page and "SW67890" not in page
    assert "Refused rows" not in page

    response = ce_admin.post(url)
    assert response["Content-Type"] == "application/vnd.ms-excel"
    book = xlrd.open_workbook(file_contents=response.content)
    sheet = book.sheet_by_index(0)
    assert sheet.nrows == 1
    row = sheet.row_values(0)
    assert row[:5] == ["SAMPLE1", "800002", "", "", "SW12345"]
    assert xlrd.xldate_as_datetime(row[5], book.datemode).date() == completed
    assert row[6:] == ["State=FL", "Profession=1801"]


def test_the_webinars_roster_keeps_the_live_course_number(course, finished, ce_admin):
    """The live webinar's own attendee is reported under the live number, not the course's."""
    webinar = course.get_prev_siblings().specific().get()
    body = webinar.ce_offerings.get().body
    seat = licensee(webinar, "lou@example.org", "Lou Live", "SW24680")
    session = webinar.sessions.get()
    attendance.check_in(seat, session, at=session.start)
    evaluate(seat)
    services.issue_certificate(seat, notify=False)

    response = ce_admin.post(reverse("certification_admin:ce_broker", args=[webinar.pk, body.pk]))
    sheet = xlrd.open_workbook(file_contents=response.content).sheet_by_index(0)
    assert [sheet.row_values(r)[1] for r in range(sheet.nrows)] == ["700001"]
    assert [sheet.row_values(r)[4] for r in range(sheet.nrows)] == ["SW24680"]


def pdf_text(data):
    return " ".join(
        subprocess.run(  # noqa: S603 - fixed arguments
            ["pdftotext", "-raw", "-", "-"],  # noqa: S607 - poppler-utils on PATH
            input=data,
            capture_output=True,
            check=True,
        )
        .stdout.decode("utf-8")
        .split()
    )


def test_the_transcript_shows_the_home_study_certificate(course, finished, client):
    hope, _sam = finished
    [certificate] = hope.certificates.all()
    client.force_login(hope.attendee)
    completed = local_noon(course, 2).date()

    csv_text = client.get(reverse("certification:my_transcript_csv")).content.decode("utf-8-sig")
    header, row = list(csv_text.splitlines())[:2]
    assert header.split(",")[:8] == [
        "Certificate ID",
        "Program",
        "Dates",
        "Format",
        "Completed on",
        "Accrediting body",
        "Hours",
        "Course number",
    ]
    assert certificate.code in row
    assert "December webinar with David Prescott (on demand)" in row
    assert "Home study (recorded program)" in row
    assert completed.isoformat() in row
    assert f"1.50,{HOME_STUDY_COURSE_NUMBER}" in row
    assert LIVE_COURSE_NUMBER not in csv_text

    response = client.get(reverse("certification:my_transcript_pdf"))
    text = pdf_text(
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    assert "Hope Homestudy" in text
    assert "Home study (recorded program)" in text
    assert f"1.50 h FL 491 ({HOME_STUDY_COURSE_NUMBER})" in text
    assert completed.strftime("%-d %b %Y") in text
    assert certificate.code in text


def test_the_badge_describes_the_home_study_certificate(course, finished, client):
    hope, _sam = finished
    [certificate] = hope.certificates.all()

    badge = json.loads(
        client.get(reverse("certification:open_badge", args=[certificate.code])).content
    )
    achievement = badge["credentialSubject"]["achievement"]
    assert "Home study (recorded program)" in achievement["description"]
    assert "1.50 hours FL 491" in achievement["description"]
    # A home-study attendee attended no session: the badge says what they did instead.
    criteria = achievement["criteria"]["narrative"]
    assert "Attended the program's sessions" not in criteria
    assert "passed the post-test" in criteria
    assert badge["credentialSubject"]["result"][0]["value"] == "1.50"
    assert badge["credentialSubject"]["creditsEarned"] == 1.5


def test_my_ce_lists_the_home_study_certificate(course, finished, client):
    hope, sam = finished
    [certificate] = hope.certificates.all()
    client.force_login(hope.attendee)
    page = " ".join(client.get(reverse("certification:my_ce")).content.decode().split())
    assert certificate.code in page
    assert "December webinar with David Prescott (on demand)" in page
    assert local_noon(course, 2).strftime("%-d %B %Y") in page

    client.force_login(sam.attendee)
    page = " ".join(client.get(reverse("certification:my_ce")).content.decode().split())
    assert "You have no CE certificates yet." in page
    assert "watched 50% of the recordings, and FL 491 requires 80%" in page


def test_the_attendance_and_credit_csv_shows_watching_and_the_post_test(course, finished, ce_admin):
    """A home-study course has no sessions to count minutes of: its roster says how much of
    the recordings each person watched and when they passed the post-test, and gives the
    credit by the body's home-study rules."""
    body = course.ce_offerings.get().body
    response = ce_admin.get(
        reverse("certification_admin:attendance_roster", args=[course.pk, body.pk])
    )
    reader = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    header = next(reader)
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in reader}
    passed_on = local_noon(course, 3).date().isoformat()

    assert header[3:5] == ["Watched (%)", "Post-test passed on"]
    hope = rows["Hope Homestudy"]
    assert (hope["Watched (%)"], hope["Post-test passed on"]) == ("100", passed_on)
    assert (hope[f"{body} credit hours"], hope["Full credit"], hope["Why short"]) == (
        "1.50",
        "yes",
        "",
    )
    sam = rows["Sam Skimmer"]
    assert (sam["Watched (%)"], sam["Post-test passed on"]) == ("50", passed_on)
    assert (sam[f"{body} credit hours"], sam["Full credit"]) == ("0.00", "no")
    assert sam["Why short"] == "watched 50% of the recordings, and FL 491 requires 80%"
