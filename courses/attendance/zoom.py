"""Webinar attendance from Zoom's attendee report: reading the CSV, importing it (all of it
or none of it), and matching the rows nobody could be matched to."""

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms import audit
from courses.models import (
    AttendanceSource,
    Registration,
    RegistrationStatus,
    SessionAttendance,
    ZoomImport,
    ZoomImportStatus,
)

from .recording import AttendanceError, merge_intervals, require_attendable, snapshot

ZOOM_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S",
)
ZOOM_REQUIRED_COLUMNS = ("Email", "Join Time", "Leave Time")


@dataclass
class ZoomJoin:
    """One row of the report's Attendee Details: one join of one person."""

    line: int
    name: str
    email: str
    join_at: datetime
    leave_at: datetime


@dataclass
class ZoomReport:
    """What a Zoom attendee report held, or why it cannot be imported."""

    metadata: dict = field(default_factory=dict)
    joins: list = field(default_factory=list)
    not_attended: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors


def _decode(data):
    """Zoom writes UTF-8 with a byte-order mark; Excel may have re-saved it as UTF-16."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise AttendanceError(
            _(
                "The file is not UTF-8 text (the byte at position %(position)s is not valid "
                "UTF-8). Download the attendee report from Zoom again and upload it unchanged, "
                "or save it as “CSV UTF-8” if you edited it in a spreadsheet. Nothing was "
                "imported."
            )
            % {"position": error.start}
        ) from error


def _parse_time(value, zone):
    text = " ".join(value.split())
    for time_format in ZOOM_TIME_FORMATS:
        try:
            naive = datetime.strptime(text, time_format)  # noqa: DTZ007 - zone applied below
        except ValueError:
            continue
        return naive.replace(tzinfo=zone)
    raise ValueError(text)


def _is_blank(row):
    return not any(cell.strip() for cell in row)


def parse_zoom_report(data, zone):
    """Read a Zoom attendee report CSV (bytes) whose times are in `zone`.

    Nothing is half-read: any problem is listed in `errors` and the caller imports nothing.
    """
    report = ZoomReport()
    try:
        text = _decode(data)
    except AttendanceError as error:
        report.errors.append(str(error))
        return report
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        report.errors.append(
            _("The file is not a readable CSV (%(error)s). Nothing was imported.")
            % {"error": error}
        )
        return report

    section_at = None
    for index, row in enumerate(rows):
        first = row[0].strip().lower() if row else ""
        if first == "attendee details":
            section_at = index
            break
    if section_at is None:
        report.errors.append(
            _(
                "No “Attendee Details” section was found. Upload Zoom's attendee report "
                "(Reports › Webinars › Attendee report) as exported. Nothing was imported."
            )
        )
        return report

    # The metadata block: a header row followed by its values, before the sections.
    for index in range(section_at - 1):
        header, values = rows[index], rows[index + 1]
        if "Topic" in [cell.strip() for cell in header]:
            report.metadata = {
                key.strip(): value.strip() for key, value in zip(header, values, strict=False)
            }
            break

    header_at = section_at + 1
    while header_at < len(rows) and _is_blank(rows[header_at]):
        header_at += 1
    if header_at >= len(rows):
        report.errors.append(_("The Attendee Details section is empty. Nothing was imported."))
        return report
    header = [cell.strip() for cell in rows[header_at]]
    missing = [column for column in ZOOM_REQUIRED_COLUMNS if column not in header]
    if missing:
        report.errors.append(
            _(
                "The Attendee Details section has no column %(columns)s. Export the report "
                "again with every column included. Nothing was imported."
            )
            % {"columns": ", ".join(f"“{column}”" for column in missing)}
        )
        return report
    position = {name: header.index(name) for name in header}

    def cell(row, name):
        at = position.get(name)
        return row[at].strip() if at is not None and at < len(row) else ""

    for offset, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if _is_blank(row):
            break
        email = cell(row, "Email").lower()
        name = (
            cell(row, "User Name (Original Name)")
            or f"{cell(row, 'First Name')} {cell(row, 'Last Name')}".strip()
        )
        if cell(row, "Attended").lower() == "no":
            report.not_attended.append({"line": offset, "name": name, "email": email})
            continue
        problems = []
        if not email:
            problems.append(_("no email"))
        try:
            join_at = _parse_time(cell(row, "Join Time"), zone)
        except ValueError:
            problems.append(
                _("join time “%(value)s” is not a date and time")
                % {"value": cell(row, "Join Time")}
            )
            join_at = None
        try:
            leave_at = _parse_time(cell(row, "Leave Time"), zone)
        except ValueError:
            problems.append(
                _("leave time “%(value)s” is not a date and time")
                % {"value": cell(row, "Leave Time")}
            )
            leave_at = None
        if join_at and leave_at and leave_at < join_at:
            problems.append(_("leave time is before join time"))
        if problems:
            who = name or email or _("no name")
            report.errors.append(
                _("Line %(line)s (%(who)s): %(problems)s")
                % {"line": offset, "who": who, "problems": "; ".join(problems)}
            )
            continue
        report.joins.append(ZoomJoin(offset, name, email, join_at, leave_at))
    if report.errors:
        report.errors.append(_("Correct these rows (or export again) and upload the file again."))
    elif not report.joins:
        report.errors.append(_("The report lists nobody who attended. Nothing was imported."))
    return report


def _registrations_by_email(event):
    found = {}
    registrations = Registration.objects.filter(
        event=event, status=RegistrationStatus.CONFIRMED
    ).select_related("attendee")
    for registration in registrations:
        emails = {registration.attendee_email.lower()} if registration.attendee_email else set()
        if registration.attendee_id and registration.attendee.email:
            emails.add(registration.attendee.email.lower())
        for email in emails:
            found.setdefault(email, registration)
    return found


def _sessions_overlapping(event, start, end):
    return [s for s in event.sessions.all() if s.start < end and s.end > start]


@transaction.atomic
def import_zoom_report(event, uploaded_file, *, actor):
    """Import a Zoom attendee report for `event`: all of it, or (with a report) none of it.

    Rows are matched to confirmed registrations by email; a person's joins are merged so
    overlapping rows are never counted twice; rows with an unknown email are kept as
    unmatched for staff to resolve. Importing the same file twice is refused.
    """
    data = uploaded_file.read()
    digest = hashlib.sha256(data).hexdigest()
    filename = getattr(uploaded_file, "name", "") or "attendee-report.csv"
    report = parse_zoom_report(data, event.zone)
    previous = ZoomImport.objects.filter(
        event=event, file_sha256=digest, status=ZoomImportStatus.IMPORTED
    ).first()
    if previous is not None and report.ok:
        when = date_format(event.local(previous.created_at), "j M Y, g:i A")
        report.errors.append(
            _("This file was already imported on %(when)s by %(who)s. Nothing was imported again.")
            % {"when": when, "who": previous.uploaded_by or _("staff")}
        )
    batch = ZoomImport(
        event=event,
        uploaded_by=actor,
        filename=filename[:255],
        file_sha256=digest,
        metadata=report.metadata,
    )
    if not report.ok:
        batch.status = ZoomImportStatus.REFUSED
        batch.summary = {"errors": report.errors}
        batch.save()
        audit.record("courses.attendance.zoom_refused", batch, actor=actor, after=batch.summary)
        return batch

    by_email = _registrations_by_email(event)
    grouped = {}
    for join in report.joins:
        grouped.setdefault(join.email, []).append(join)

    matched, unmatched, overlaps, outside = [], [], [], []
    batch.status = ZoomImportStatus.IMPORTED
    batch.save()
    for email, joins in grouped.items():
        registration = by_email.get(email)
        intervals = [(j.join_at, j.leave_at) for j in joins]
        merged = merge_intervals(intervals)
        raw_minutes = sum((j.leave_at - j.join_at).total_seconds() for j in joins) / 60
        merged_minutes = sum((end - start).total_seconds() for start, end in merged) / 60
        if raw_minutes - merged_minutes > 0.01:
            overlaps.append(
                {
                    "email": email,
                    "rows": len(joins),
                    "double_counted_minutes": round(raw_minutes - merged_minutes),
                }
            )
        rows = [
            batch.rows.create(
                line=j.line,
                name=j.name[:200],
                email=email[:254],
                join_at=j.join_at,
                leave_at=j.leave_at,
                registration=registration,
            )
            for j in joins
        ]
        name = joins[0].name
        if registration is None:
            unmatched.append({"email": email, "name": name, "rows": len(joins)})
            continue
        created = _record_zoom_presence(registration, merged, rows[0], actor)
        if not created:
            outside.append({"email": email, "name": name})
        matched.append(
            {
                "email": email,
                "name": registration.attendee_name,
                "rows": len(joins),
                "minutes": round(merged_minutes),
            }
        )
    batch.summary = {
        "matched": matched,
        "unmatched": unmatched,
        "overlaps_merged": overlaps,
        "outside_sessions": outside,
        "not_attended": report.not_attended,
        "rows": len(report.joins),
    }
    batch.save(update_fields=["summary"])
    audit.record(
        "courses.attendance.zoom_imported",
        batch,
        actor=actor,
        after={
            "rows": len(report.joins),
            "matched": len(matched),
            "unmatched": len(unmatched),
            "file_sha256": digest,
        },
    )
    return batch


def _record_zoom_presence(registration, merged_intervals, row, actor):
    """One attendance entry per merged interval and session it overlaps."""
    created = 0
    for start, end in merged_intervals:
        for session in _sessions_overlapping(registration.event, start, end):
            attendance = SessionAttendance.objects.create(
                registration=registration,
                session=session,
                # The report row keeps the raw times; the entry holds the part in the session.
                checked_in_at=max(start, session.start),
                checked_out_at=min(end, session.end),
                source=AttendanceSource.ZOOM,
                zoom_row=row,
                recorded_by=actor,
            )
            audit.record(
                "courses.attendance.zoom_recorded",
                attendance,
                actor=actor,
                after=snapshot(attendance),
            )
            created += 1
    return created


@transaction.atomic
def resolve_zoom_rows(batch, email, registration, *, actor):
    """Staff match an unmatched email of an import to a registration; its joins then count."""
    rows = list(batch.rows.filter(email=email.lower(), registration__isnull=True))
    if not rows:
        raise AttendanceError(_("These rows are already matched, or were not in this import."))
    if registration.event_id != batch.event_id:
        raise AttendanceError(_("That registration is for another event."))
    require_attendable(registration, registration.event.sessions.first())
    for row in rows:
        row.registration = registration
        row.save(update_fields=["registration"])
    merged = merge_intervals([(row.join_at, row.leave_at) for row in rows])
    _record_zoom_presence(registration, merged, rows[0], actor)
    audit.record(
        "courses.attendance.zoom_resolved",
        batch,
        actor=actor,
        after={"email": email, "registration": str(registration.public_id)},
    )
    return len(rows)
