"""Reading Zoom's attendee report: metadata, joins in the webinar's zone, and bad files."""

import zoneinfo
from datetime import UTC, datetime, timedelta

from courses.attendance import merge_intervals, minutes_within, parse_zoom_report

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")

HEADER = (
    "Attended,User Name (Original Name),First Name,Last Name,Email,Phone,Registration Time,"
    "Approval Status,Join Time,Leave Time,Time in Session (minutes),Is Guest,"
    "Country/Region Name,Source Name"
)


def report(*rows, header=HEADER, bom=True):
    lines = [
        "Attendee Report",
        'Report Generated:,"11/20/2026 10:00 AM"',
        "Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered",
        'Measuring outcomes,"812 3456 7890",11/19/2026 09:58:12 AM,185,3',
        "Host Details",
        "Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes)",
        "Yes,Host,host@example.org,11/19/2026 09:50:00 AM,11/19/2026 01:05:00 PM,195",
        "",
        "Attendee Details",
        header,
        *rows,
    ]
    text = "\r\n".join(lines) + "\r\n"
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


def row(email, join, leave, name="Zoë Núñez", attended="Yes"):
    return (
        f"{attended},{name},Zoë,Núñez,{email},,11/01/2026 10:00:00 AM,approved,"
        f"{join},{leave},60,No,United States,"
    )


def test_reads_metadata_and_joins_in_the_webinar_zone():
    parsed = parse_zoom_report(
        report(row("ZOE@example.org", "11/19/2026 10:00:00 AM", "11/19/2026 11:30:00 AM")),
        NEW_YORK,
    )
    assert parsed.ok, parsed.errors
    assert parsed.metadata["Topic"] == "Measuring outcomes"
    [join] = parsed.joins
    assert join.email == "zoe@example.org"
    assert join.name == "Zoë Núñez"
    # 10:00 in New York on Nov 19 (EST, UTC-5) is 15:00 UTC.
    assert join.join_at.astimezone(UTC) == datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
    assert join.leave_at - join.join_at == timedelta(minutes=90)


def test_host_rows_are_not_attendees_and_no_shows_are_listed():
    parsed = parse_zoom_report(
        report(
            row("a@example.org", "11/19/2026 10:00:00 AM", "11/19/2026 10:30:00 AM"),
            row("noshow@example.org", "--", "--", attended="No"),
        ),
        NEW_YORK,
    )
    assert parsed.ok
    assert [j.email for j in parsed.joins] == ["a@example.org"]
    assert parsed.not_attended[0]["email"] == "noshow@example.org"


def test_missing_columns_are_reported_and_nothing_is_read():
    header = HEADER.replace("Leave Time,", "")
    parsed = parse_zoom_report(
        report(
            "Yes,A,A,B,a@example.org,,x,approved,11/19/2026 10:00:00 AM,60,No,US,", header=header
        ),
        NEW_YORK,
    )
    assert not parsed.ok
    assert "“Leave Time”" in parsed.errors[0]
    assert parsed.joins == []


def test_another_encoding_is_reported_not_guessed():
    data = report(row("b@example.org", "11/19/2026 10:00:00 AM", "11/19/2026 10:30:00 AM"))
    latin1 = data.decode("utf-8").lstrip("\ufeff").encode("latin-1")
    parsed = parse_zoom_report(latin1, NEW_YORK)
    assert not parsed.ok
    assert "not UTF-8" in parsed.errors[0]


def test_utf16_export_from_a_spreadsheet_is_read():
    data = report(
        row("c@example.org", "11/19/2026 10:00:00 AM", "11/19/2026 10:30:00 AM"), bom=False
    )
    parsed = parse_zoom_report(data.decode("utf-8").encode("utf-16"), NEW_YORK)
    assert parsed.ok, parsed.errors
    assert parsed.joins[0].email == "c@example.org"


def test_a_bad_time_refuses_the_whole_file_with_the_line():
    parsed = parse_zoom_report(
        report(
            row("d@example.org", "11/19/2026 10:00:00 AM", "11/19/2026 10:30:00 AM"),
            row("e@example.org", "yesterday", "11/19/2026 10:30:00 AM", name="Eve"),
            row("f@example.org", "11/19/2026 11:00:00 AM", "11/19/2026 10:30:00 AM", name="Fay"),
        ),
        NEW_YORK,
    )
    assert not parsed.ok
    assert any("Line 12 (Eve)" in e and "“yesterday”" in e for e in parsed.errors)
    assert any("Line 13 (Fay)" in e and "before join time" in e for e in parsed.errors)


def test_no_attendee_section_is_reported():
    parsed = parse_zoom_report(b"\xef\xbb\xbfName,Email\r\nA,a@example.org\r\n", NEW_YORK)
    assert not parsed.ok
    assert "Attendee Details" in parsed.errors[0]


def test_overlapping_joins_are_counted_once():
    t = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
    joins = [
        (t, t + timedelta(minutes=30)),
        (t + timedelta(minutes=20), t + timedelta(minutes=50)),  # two devices at once
        (t + timedelta(minutes=70), t + timedelta(minutes=80)),  # rejoined after a drop
    ]
    assert merge_intervals(joins) == [
        (t, t + timedelta(minutes=50)),
        (t + timedelta(minutes=70), t + timedelta(minutes=80)),
    ]
    # Within a session from t+10 to t+75: 40 + 5 minutes.
    assert minutes_within(joins, t + timedelta(minutes=10), t + timedelta(minutes=75)) == 45
