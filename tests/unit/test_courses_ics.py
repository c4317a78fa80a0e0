"""Calendar files and links: every session, in the event's own zone."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from icalendar import Calendar

from cms.dates import add_months
from courses.ics import event_calendar, google_calendar_url, outlook_calendar_url
from courses.models import EventPage, EventSession, validate_time_zone


def _webinar(zone="America/New_York"):
    # A Wagtail page looks up its content type when built; that reads the
    # database unless an earlier test left the ContentType cache warm.
    event = EventPage(
        title="Improving Outcomes One Client at a Time",
        summary="A live webinar.",
        format="webinar",
        time_zone=zone,
        capacity=100,
    )
    event.sessions = [
        EventSession(
            title="Live webinar",
            start=datetime(2026, 12, 9, 17, 0, tzinfo=UTC),
            end=datetime(2026, 12, 9, 18, 30, tzinfo=UTC),
            ce_minutes=90,
        ),
        EventSession(
            title="Follow-up",
            start=datetime(2026, 12, 10, 17, 0, tzinfo=UTC),
            end=datetime(2026, 12, 10, 18, 0, tzinfo=UTC),
            ce_minutes=60,
        ),
    ]
    return event


@pytest.mark.django_db
def test_ics_holds_each_session_with_its_zone_and_the_right_instant():
    content = event_calendar(_webinar()).decode()

    assert content.count("BEGIN:VEVENT") == 2
    assert "DTSTART;TZID=America/New_York:20261209T120000" in content
    assert "DTEND;TZID=America/New_York:20261209T133000" in content
    assert "BEGIN:VTIMEZONE" in content and "TZID:America/New_York" in content
    calendar = Calendar.from_ical(content)
    starts = sorted(c.decoded("dtstart") for c in calendar.walk("VEVENT"))
    assert starts[0].astimezone(UTC) == datetime(2026, 12, 9, 17, 0, tzinfo=UTC)
    stamps = [c["dtstamp"].to_ical().decode() for c in calendar.walk("VEVENT")]
    assert all(stamp.endswith("Z") for stamp in stamps)
    summaries = [str(c["summary"]) for c in calendar.walk("VEVENT")]
    assert "Improving Outcomes One Client at a Time: Live webinar" in summaries


@pytest.mark.django_db
def test_ics_for_a_zone_east_of_utc_keeps_the_local_date():
    content = event_calendar(_webinar("Asia/Kolkata")).decode()
    # 17:00 UTC is 22:30 the same day in India.
    assert "DTSTART;TZID=Asia/Kolkata:20261209T223000" in content


@pytest.mark.django_db
def test_calendar_links_use_utc_times():
    event = _webinar()
    session = event.sessions.all()[0]

    assert "dates=20261209T170000Z%2F20261209T183000Z" in google_calendar_url(event, session)
    assert "startdt=2026-12-09T17%3A00%3A00Z" in outlook_calendar_url(event, session)


def test_time_zone_must_be_an_iana_name():
    validate_time_zone("America/Chicago")
    with pytest.raises(ValidationError, match="IANA"):
        validate_time_zone("Central Time")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2026, 11, 26, tzinfo=UTC), 12, datetime(2027, 11, 26, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), 12, datetime(2029, 2, 28, tzinfo=UTC)),
    ],
)
def test_membership_months_add_calendar_months(start, months, expected):
    assert add_months(start, months) == expected
