"""Attendance: who was in the room (or the webinar) for each session, and for how long.

The one place that changes attendance (this package's public API is below). Staff check
people in and out on a phone (`recording`); attendees check themselves in with the code the
presenter shows (`codes`); webinar attendance comes from Zoom's attendee report (`zoom`).
Every change writes an audit record; nothing is overwritten: a wrong entry is voided with a
reason and a new one recorded.
"""

from .codes import (
    SELF_CHECK_IN_OPENS_BEFORE,
    check_in_token,
    registration_for_token,
    self_check_in,
    session_code,
)
from .recording import (
    SEARCH_LIMIT,
    AttendanceError,
    check_in,
    check_out,
    merge_intervals,
    minutes_within,
    presence_intervals,
    record_attendance,
    search_registrations,
    void_attendance,
)
from .zoom import import_zoom_report, parse_zoom_report, resolve_zoom_rows

__all__ = [
    "SEARCH_LIMIT",
    "SELF_CHECK_IN_OPENS_BEFORE",
    "AttendanceError",
    "check_in",
    "check_in_token",
    "check_out",
    "import_zoom_report",
    "merge_intervals",
    "minutes_within",
    "parse_zoom_report",
    "presence_intervals",
    "record_attendance",
    "registration_for_token",
    "resolve_zoom_rows",
    "search_registrations",
    "self_check_in",
    "session_code",
    "void_attendance",
]
