"""Credit policy as each body's data: grace for late arrival and early leave, partial credit
(none, per session, per hour attended), and no headline total that mixes bodies' units."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.credits import credits_for_registration, headline_hours
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import CreditBasis, EvaluationResponse
from cms.roles import CE_ADMINISTRATOR
from courses import attendance
from courses.models import Presenter, ZoomImportStatus

pytestmark = [pytest.mark.board, pytest.mark.django_db]


def nbcc(**fields):
    return make_body(
        "NBCC",
        name="National Board for Certified Counselors",
        minutes_per_credit=50,
        credit_increment=Decimal("0.50"),
        **fields,
    )


# -- a one-minute-late webinar join, through the real Zoom import -------------------------------


def zoom_csv(event, rows):
    lines = [
        "Attendee Report",
        "Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered",
        f"{event.title},1,01/01/2026 09:58:12 AM,120,1",
        "",
        "Attendee Details",
        "Attended,User Name (Original Name),First Name,Last Name,Email,Join Time,Leave Time,"
        "Time in Session (minutes),Is Guest",
    ] + rows
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def zoom_time(event, moment):
    return event.local(moment).strftime("%m/%d/%Y %I:%M:%S %p")


@pytest.fixture
def webinar():
    make_sponsor()
    starts = (timezone.now() - timedelta(days=2)).replace(
        hour=14, minute=0, second=0, microsecond=0
    )
    event = make_event(
        "Alliance Webinar", format="webinar", starts=starts, sessions=[("Live", starts, 120, 120)]
    )
    make_offering(event, make_body("APA"))  # the default grace: 10 minutes
    make_offering(
        event,
        make_body(
            "FL 491",
            name="Florida Board of Clinical Social Work",
            late_grace_minutes=0,
            jurisdiction="FL",
        ),
    )
    return event


def test_a_webinar_attendee_one_minute_late_gets_full_credit_under_the_default_grace(webinar):
    registration = make_registration(webinar, name="Lena Late", email="lena@example.org")
    session = webinar.sessions.get()
    joined = zoom_time(webinar, session.start + timedelta(minutes=1))
    row = f"Yes,Lena,Lena,Late,lena@example.org,{joined},{zoom_time(webinar, session.end)},119,No"
    upload = SimpleUploadedFile("report.csv", zoom_csv(webinar, [row]), content_type="text/csv")

    batch = attendance.import_zoom_report(webinar, upload, actor=None)

    assert batch.status == ZoomImportStatus.IMPORTED
    assert batch.summary["matched"][0]["minutes"] == 119
    apa, florida = credits_for_registration(registration)
    assert (apa.hours, apa.full, apa.reason) == (Decimal("2.00"), True, "")
    # The same minute under a body that allows no grace costs the session, and says why.
    assert florida.hours == 0
    assert florida.reason == "missed 1 minute of session 1 (Live)"


# -- 40 minutes missed of one day of a three-day program, under each policy ---------------------


@pytest.fixture
def conference():
    make_sponsor()
    starts = (timezone.now() - timedelta(days=6)).replace(hour=9, minute=0, second=0, microsecond=0)
    event = make_event(
        "Three-Day Intensive",
        starts=starts,
        sessions=[
            ("Day one", starts, 360, 360),
            ("Day two", starts + timedelta(days=1), 360, 360),
            ("Day three", starts + timedelta(days=2), 360, 360),
        ],
    )
    bodies = {
        "none": make_body(
            "FL PSY",
            name="Florida Board of Psychology",
            credit_basis=CreditBasis.FULL_PROGRAM,
        ),
        "session": make_body("ASWB", name="ASWB ACE", credit_basis=CreditBasis.PER_SESSION),
        "hour": make_body("APA", credit_basis=CreditBasis.PER_HOUR),
        "hour50": nbcc(credit_basis=CreditBasis.PER_HOUR),
    }
    for body in bodies.values():
        make_offering(event, body, hours=Decimal("18.00") if body.minutes_per_credit == 60 else 21)
    return event


def miss_forty_minutes_of_day_two(registration):
    for session in registration.event.sessions.order_by("start"):
        late = timedelta(minutes=40) if session.title == "Day two" else timedelta(0)
        attendance.check_in(registration, session, at=session.start + late)


def by_body(results):
    return {r.body.short_name: r for r in results}


def test_forty_minutes_missed_of_one_day_costs_what_each_bodys_policy_says(conference):
    registration = make_registration(conference, name="Devi Delayed")
    miss_forty_minutes_of_day_two(registration)

    credit = by_body(credits_for_registration(registration))

    # Full program only: nothing, with the reason.
    assert credit["FL PSY"].hours == 0
    assert credit["FL PSY"].reason == (
        "FL PSY gives credit only for the whole program: missed 40 minutes of session 2 (Day two)"
    )
    # Per session: day two is lost, days one and three count.
    assert credit["ASWB"].hours == Decimal("12.00")
    # Per hour: 1,040 minutes attended. 17.33 sixty-minute hours round down to 17.25;
    # 20.8 fifty-minute hours round down to NBCC's half hour, 20.50.
    assert credit["APA"].hours == Decimal("17.25")
    assert credit["NBCC"].hours == Decimal("20.50")
    for short_name in ("ASWB", "APA", "NBCC"):
        assert credit[short_name].reason == "missed 40 minutes of session 2 (Day two)"
        assert not credit[short_name].full


def test_full_attendance_gives_every_body_its_offering_and_grace_covers_a_late_return(
    conference,
):
    registration = make_registration(conference, name="Pat Present")
    for session in conference.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
        # Back 8 minutes late from a break on day two: within the 10 minutes' grace.
        if session.title == "Day two":
            attendance.check_out(registration, session, at=session.start + timedelta(hours=2))
            attendance.check_in(
                registration, session, at=session.start + timedelta(hours=2, minutes=8)
            )

    credit = by_body(credits_for_registration(registration))

    assert {name: c.hours for name, c in credit.items()} == {
        "FL PSY": Decimal("18.00"),
        "ASWB": Decimal("18.00"),
        "APA": Decimal("18.00"),
        "NBCC": Decimal("21.00"),
    }
    assert all(c.full and not c.reason for c in credit.values())


def test_the_ce_page_states_each_bodys_policy_in_words(client, staff_signed_in, conference):
    staff_signed_in(CE_ADMINISTRATOR)

    page = client.get(reverse("certification_admin:event", args=[conference.pk]))

    text = page.content.decode()
    assert page.status_code == 200
    assert (
        "APA: credit per hour attended, 60-minute hours, rounded down to 0.25 h, "
        "10 minutes&#x27; grace per session for late arrival and early leave together"
    ) in text
    assert "NBCC: credit per hour attended, 50-minute hours, rounded down to 0.5 h" in text
    assert "FL PSY: credit only for attending the whole program" in text
    assert "ASWB: credit per session attended in full" in text


# -- no mixed headline total -------------------------------------------------------------------


def test_headline_hours_only_where_every_body_figure_and_unit_agree():
    apa = {"hours": "6.00", "minutes_per_credit": 60, "short_name": "APA"}
    aswb = {"hours": "6.00", "minutes_per_credit": 60, "short_name": "ASWB"}
    nbcc_line = {"hours": "7.00", "minutes_per_credit": 50, "short_name": "NBCC"}
    nbcc_six = {"hours": "6.00", "minutes_per_credit": 50, "short_name": "NBCC"}
    legacy = {"hours": "6.00", "unit": "60-minute hours", "short_name": "APA"}

    assert headline_hours([apa, aswb]) == Decimal("6.00")
    assert headline_hours([legacy, aswb]) == Decimal("6.00")
    assert headline_hours([apa, nbcc_line]) is None  # figures differ
    assert headline_hours([apa, nbcc_six]) is None  # same figure, different hours
    assert headline_hours([]) is None


def test_certificate_and_my_ce_show_hours_per_body_with_unit_and_no_mixed_total(client):
    make_sponsor()
    starts = (timezone.now() - timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    event = make_event(
        "Supervision Essentials",
        starts=starts,
        sessions=[
            ("Morning", starts, 180, 180),
            ("Afternoon", starts + timedelta(hours=4), 180, 180),
            ("Late", starts + timedelta(hours=8), 90, 90),
        ],
    )
    presenter = Presenter.objects.create(name="Daryl Chow", credentials="PhD")
    event.sessions.filter(title="Afternoon").update(presenter=presenter)
    event.presenters.add(Presenter.objects.create(name="Scott D. Miller", credentials="PhD"))
    event.save()
    make_offering(event, make_body("APA"), hours=Decimal("7.50"))
    make_offering(event, nbcc(), hours=Decimal("9.00"))
    user = make_user("quinn@example.org", "Quinn Partial")
    registration = make_registration(event, name="Quinn Partial", user=user)
    for session in event.sessions.order_by("start"):
        if session.title != "Late":
            attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)

    certificate = services.issue_certificate(registration)

    # 360 minutes: 6.00 APA hours, 7.00 NBCC hours (7.2 rounded down to the half hour).
    assert [(line["short_name"], line["hours"]) for line in certificate.credits] == [
        ("APA", "6.00"),
        ("NBCC", "7.00"),
    ]
    assert certificate.headline_hours is None
    assert certificate.presenters == "Daryl Chow, Scott D. Miller"
    client.force_login(user)
    for url in (certificate.get_absolute_url(), reverse("certification:my_ce")):
        text = client.get(url).content.decode()
        assert "6.00 hours (60-minute hours) – APA" in text
        assert "7.00 hours (50-minute hours) – NBCC" in text
        assert "missed 90 minutes of session 3 (Late)" in text
        assert "from every body" not in text


def test_a_headline_total_appears_where_every_body_agrees(client):
    make_sponsor()
    event = make_event("Measures in Practice")  # 300 CE minutes in three sessions
    make_offering(event, make_body("APA"), hours=Decimal("5.00"))
    make_offering(event, make_body("ASWB", name="ASWB ACE"), hours=Decimal("5.00"))
    user = make_user("ida@example.org", "Ida Whole")
    registration = make_registration(event, name="Ida Whole", user=user)
    for session in event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)

    certificate = services.issue_certificate(registration)

    assert certificate.headline_hours == Decimal("5.00")
    client.force_login(user)
    text = client.get(certificate.get_absolute_url()).content.decode()
    assert "5.00 hours (60-minute hours) – APA" in text
    assert "5.00 hours from every body" in text


def test_my_ce_says_each_bodys_hours_the_reason_once_and_what_to_do_next(client, conference):
    """Four bodies short for the same missed hour: the page says the fact once, not four times."""
    user = make_user("devi@example.org", "Devi Delayed")
    registration = make_registration(conference, name="Devi Delayed", user=user)
    miss_forty_minutes_of_day_two(registration)
    client.force_login(user)

    html = client.get(reverse("certification:my_ce")).content.decode()

    assert html.count("missed 40 minutes of session 2 (Day two)") == 1
    assert "Why:" in html and "What to do next:" in html
    assert "<strong>0.00 hours</strong> (60-minute hours) – FL PSY: only the whole program" in html
    assert "<strong>12.00 hours</strong> (60-minute hours) – ASWB: partial credit" in html
    assert "<strong>20.50 hours</strong> (50-minute hours)" in html
