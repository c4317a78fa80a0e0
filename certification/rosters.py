"""Board rosters: CE Broker's upload spreadsheet and an attendance-and-credit CSV per body.

CE Broker cannot edit a posted entry, so every row is checked first: a shared or malformed
license number, or hours without a subject code, stops the whole export until fixed; a row
with a bad date or no profession code is refused (listed with the reason).
"""

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms import exports
from courses.models import RegistrationStatus

from .credits import (
    body_hours,
    credit_for,
    home_study_credit,
    home_study_progress,
    is_recorded,
    session_presence,
)
from .models import (
    CEBrokerReportedRow,
    Certificate,
    CertificateStatus,
    CreditBasis,
    EvaluationResponse,
)
from .services.eligibility import asked_for_ce
from .transcripts import license_label

# Columns A..J of CE Broker's roster upload, in this order (see DOMAIN.md). The names are
# CE Broker's own, like the cells below them: a machine format, so not translated.
CE_BROKER_COLUMNS = [
    "Provider number",
    "Course number",
    "Own course id",
    "Publishing number",
    "License number",
    "Completion date",
    "State",
    "Profession",
    "Subject code",
    "Hours",
]


@dataclass
class RosterRow:
    """One licensee's row: the cells CE Broker reads, and the certificate it comes from."""

    cells: list
    certificate: object
    license_number: str
    hours: object = None
    reported_on: object = None  # when an earlier batch already reported it
    reissued_since: bool = False  # the certificate was reissued after that batch

    @property
    def display(self):
        return [date_format(v, "m/d/Y") if isinstance(v, date) else v for v in self.cells]


@dataclass
class CEBrokerRoster:
    body: object
    rows: list = field(default_factory=list)  # RosterRow to export (pending, or all)
    refused: list = field(default_factory=list)  # rows left out, each with why
    problems: list = field(default_factory=list)  # what stops the whole export, and the fix
    reported: list = field(default_factory=list)  # RosterRow already in an earlier batch
    partial_credit: bool = False
    include_reported: bool = False

    @property
    def blocked(self):
        return bool(self.problems)

    @property
    def last_reported_on(self):
        return max((r.reported_on for r in self.reported), default=None)

    @property
    def corrections(self):
        return [r for r in self.reported if r.reissued_since]


def _profession_code(body, profession):
    codes = {k.strip().lower(): v for k, v in (body.ce_broker_profession_codes or {}).items()}
    return codes.get((profession or "").strip().lower())


def _reported_rows(event, body):
    """{(registration id, license number): (exported at, certificate id)} of earlier batches."""
    reported = {}
    for row in (
        CEBrokerReportedRow.objects.filter(batch__event=event, batch__body=body)
        .select_related("batch")
        .order_by("batch__exported_at")
    ):
        reported[(row.registration_id, row.license_number)] = (
            row.batch.exported_at,
            row.certificate_id,
        )
    return reported


def _check_duplicates(roster, candidates):
    by_number = {}
    for row in candidates:
        by_number.setdefault(row.license_number, []).append(row)
    for number, rows in sorted(by_number.items()):
        names = sorted({r.certificate.attendee_name for r in rows})
        if len(rows) < 2:
            continue
        roster.problems.append(
            _(
                "License number %(number)s (%(jurisdiction)s) is on the certificates of "
                "%(names)s. A license belongs to one person: correct the wrong attendee's "
                "license on their registration and reissue their certificate, then export again."
            )
            % {
                "number": number,
                "jurisdiction": roster.body.jurisdiction or roster.body,
                "names": _(" and ").join(names) if len(names) > 1 else names[0],
            }
        )


def ce_broker_roster(event, body, *, today=None, include_reported=False):
    """The rows CE Broker will accept for `event` under `body`, those refused (with why), and
    the problems that stop the whole export (a shared or malformed license number, hours
    without a subject code): CE Broker cannot edit a posted entry, so nothing is exported
    until they are fixed. Rows an earlier batch reported are left out unless
    `include_reported` (a correction file)."""
    today = today or timezone.localdate()
    offering = event.ce_offerings.filter(body=body).first()
    roster = CEBrokerRoster(
        body,
        partial_credit=body.credit_basis == CreditBasis.PER_SESSION,
        include_reported=include_reported,
    )
    if offering is None:
        roster.refused.append(
            {
                "name": "",
                "license": "",
                "reason": _("%(event)s has no %(body)s offering.")
                % {"event": event.title, "body": body},
            }
        )
        return roster
    first_day = event.local(event.starts_at).date() if event.starts_at else None
    certificates = Certificate.objects.filter(
        event=event, status=CertificateStatus.ISSUED
    ).order_by("attendee_name", "pk")
    candidates = []
    for certificate in certificates:
        line = next((c for c in certificate.credits if c.get("body_id") == body.pk), None)
        if line is None:
            continue
        licenses = [
            license_
            for license_ in certificate.licenses
            if not body.jurisdiction
            or (license_.get("jurisdiction") or "").strip().upper() == body.jurisdiction.upper()
        ]
        if not licenses:
            roster.refused.append(
                {
                    "name": certificate.attendee_name,
                    "license": "",
                    "reason": (
                        _("no %(jurisdiction)s license on the certificate")
                        % {"jurisdiction": body.jurisdiction}
                        if body.jurisdiction
                        else _("no license on the certificate")
                    ),
                }
            )
            continue
        numbers_seen = set()
        for license_ in licenses:
            number = (license_.get("number") or "").strip().upper()
            if number in numbers_seen:
                continue  # the same license printed twice for one person
            numbers_seen.add(number)
            if not body.license_number_is_valid(number):
                roster.problems.append(
                    _(
                        "%(name)s: license number “%(number)s” is not a valid %(body)s license "
                        "number. Correct it on their registration and reissue their "
                        "certificate, then export again."
                    )
                    % {
                        "name": certificate.attendee_name,
                        "number": number or _("missing"),
                        "body": body,
                    }
                )
                continue
            reasons = []
            completed = certificate.completed_on
            if completed > today:
                reasons.append(
                    _("completion date %(date)s is in the future")
                    % {"date": date_format(completed, "m/d/Y")}
                )
            if first_day and completed < first_day:
                reasons.append(
                    _("completion date %(date)s is before the program started")
                    % {"date": date_format(completed, "m/d/Y")}
                )
            code = _profession_code(body, license_.get("profession"))
            if not code:
                reasons.append(
                    _("no CE Broker profession code for “%(profession)s”")
                    % {"profession": license_.get("profession") or _("no profession")}
                )
            if not offering.course_number_for_ce_broker:
                reasons.append(_("the offering has no CE Broker course number"))
            if reasons:
                roster.refused.append(
                    {
                        "name": certificate.attendee_name,
                        "license": number,
                        "reason": "; ".join(reasons),
                    }
                )
                continue
            cells = [
                body.provider_number_for_ce_broker,
                offering.course_number_for_ce_broker,
                "",
                "",
                number,
                completed,
                f"State={body.jurisdiction.upper() or 'FL'}",
                f"Profession={code}",
            ]
            hours = None
            if roster.partial_credit:
                hours = body_hours(line.get("hours"), body)
                subject = offering.ce_broker_subject_code.strip()
                if hours > 0 and not subject:
                    roster.problems.append(
                        _(
                            "%(name)s: %(hours)s hours but the %(body)s offering has no CE "
                            "Broker subject code (column I). Enter the subject code on the "
                            "offering, then export again."
                        )
                        % {"name": certificate.attendee_name, "hours": hours, "body": body}
                    )
                    continue
                if subject and hours <= 0:
                    roster.problems.append(
                        _(
                            "%(name)s: a subject code but no hours (column J). Check their "
                            "attendance and certificate before reporting them."
                        )
                        % {"name": certificate.attendee_name}
                    )
                    continue
                cells += [subject, hours]
            candidates.append(RosterRow(cells, certificate, number, hours))
    _check_duplicates(roster, candidates)
    reported = _reported_rows(event, body)
    for row in candidates:
        earlier = reported.get((row.certificate.registration_id, row.license_number))
        if earlier:
            row.reported_on, certificate_id = earlier
            row.reissued_since = certificate_id != row.certificate.pk
            roster.reported.append(row)
            if not include_reported:
                continue
        roster.rows.append(row)
    return roster


def ce_broker_xls(roster):
    """The .xls CE Broker's roster upload takes: one row per licensee, no header row; the
    completion date a date cell shown MM/DD/YYYY, the hours a number, the rest text."""
    import xlwt

    date_style = xlwt.XFStyle()
    date_style.num_format_str = "MM/DD/YYYY"
    hours_style = xlwt.XFStyle()
    hours_style.num_format_str = "0.00"
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Roster")
    for row_index, row in enumerate(roster.rows):
        for column_index, value in enumerate(row.cells):
            if isinstance(value, date):
                sheet.write(row_index, column_index, value, date_style)
            elif isinstance(value, Decimal):
                sheet.write(row_index, column_index, float(value), hours_style)
            else:
                sheet.write(row_index, column_index, exports.safe_cell(str(value)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def attendance_credit_csv(event, body):
    """Every confirmed CE registrant: minutes per session, credit under `body`, and why short.

    A board roster file like CE Broker's: its headers and yes/no cells stay as the bodies read
    them, untranslated."""
    offering = event.ce_offerings.select_related("body").get(body=body)
    home_study = is_recorded(event)
    sessions = [] if home_study else [s for s in event.sessions.all() if s.ce_minutes]
    buffer = io.StringIO()
    writer = exports.csv_writer(buffer)
    writer.writerow(
        ["Name", "Email", "Licenses"]
        + (
            # A recorded program has no sessions to attend: what its credit rests on instead.
            ["Watched (%)", "Post-test passed on"]
            if home_study
            else [
                f"Session {n}: {s.title} (minutes attended of "
                f"{round((s.end - s.start).total_seconds() / 60)})"
                for n, s in enumerate(sessions, start=1)
            ]
        )
        + [
            f"{body} credit hours",
            "Full credit",
            "Why short",
            "Evaluation submitted",
            "Certificate ID",
            "Certificate status",
        ]
    )
    evaluated = set(
        EvaluationResponse.objects.filter(event=event).values_list("registration_id", flat=True)
    )
    registrations = (
        event.registrations.filter(status=RegistrationStatus.CONFIRMED)
        .filter(asked_for_ce())
        .distinct()
        .prefetch_related("attendances", "certificates", "ce_licenses__license")
        .order_by("attendee_name")
    )
    for registration in registrations:
        if home_study:
            result, progress_cells = _home_study_credit(offering, registration)
        else:
            presence = session_presence(registration)
            result = credit_for(offering, presence)
            progress_cells = [p.attended_minutes for p in presence]
        certificate = max(registration.certificates.all(), key=lambda c: c.issued_at, default=None)
        licenses = [
            f"{link.license.profession}, {link.license.jurisdiction} #{link.license.number}"
            for link in registration.ce_licenses.all()
        ] or (
            [
                license_label(
                    {
                        "profession": registration.profession,
                        "jurisdiction": registration.license_jurisdiction,
                        "number": registration.license_number,
                    }
                )
            ]
            if registration.license_number
            else []
        )
        writer.writerow(
            [registration.attendee_name, registration.attendee_email, "; ".join(licenses)]
            + progress_cells
            + [
                result.hours.quantize(Decimal("0.01")),
                "yes" if result.full else "no",
                result.reason,
                "yes" if registration.pk in evaluated else "no",
                certificate.code if certificate else "",
                certificate.get_status_display() if certificate else "",
            ]
        )
    return exports.BOM + buffer.getvalue()


def _home_study_credit(offering, registration):
    """A home-study attendee's credit under the offering's body, and the roster's cells for
    what it rests on: the whole percent of the recordings watched and the post-test's pass
    day (in the course's zone)."""
    progress = home_study_progress(registration)
    watched = "" if progress.watched_percent is None else progress.watched_percent
    passed = progress.passed_on.isoformat() if progress.passed_on else ""
    return home_study_credit(offering, progress), [watched, passed]
