"""Board rosters: CE Broker's upload spreadsheet and an attendance-and-credit CSV per body.

CE Broker cannot edit a posted entry, so every row is checked first: a row with an invalid
license number or date is refused (listed with the reason) rather than exported.
"""

import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms import exports
from courses.models import RegistrationStatus

from .credits import credit_for, session_presence
from .models import Certificate, CertificateStatus, CreditBasis, EvaluationResponse
from .services import asked_for_ce
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
class CEBrokerRoster:
    body: object
    rows: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    partial_credit: bool = False


def _profession_code(body, profession):
    codes = {k.strip().lower(): v for k, v in (body.ce_broker_profession_codes or {}).items()}
    return codes.get((profession or "").strip().lower())


def ce_broker_roster(event, body, *, today=None):
    """The rows CE Broker will accept for `event` under `body`, and those refused (with why)."""
    today = today or timezone.localdate()
    offering = event.ce_offerings.filter(body=body).first()
    roster = CEBrokerRoster(body, partial_credit=body.credit_basis == CreditBasis.PER_SESSION)
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
    seen = set()
    first_day = event.local(event.starts_at).date() if event.starts_at else None
    certificates = Certificate.objects.filter(
        event=event, status=CertificateStatus.ISSUED
    ).order_by("attendee_name")
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
        for license_ in licenses:
            number = (license_.get("number") or "").strip().upper()
            reasons = []
            if not body.license_number_is_valid(number):
                reasons.append(
                    _("license number “%(number)s” is not a valid %(body)s license number")
                    % {"number": number or _("missing"), "body": body}
                )
            if number in seen:
                reasons.append(_("the same license number appears twice"))
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
            seen.add(number)
            row = [
                body.provider_number_for_ce_broker,
                offering.course_number_for_ce_broker,
                "",
                "",
                number,
                completed.strftime("%m/%d/%Y"),  # CE Broker's date column: machine format
                f"State={body.jurisdiction.upper() or 'FL'}",
                f"Profession={code}",
            ]
            if roster.partial_credit:
                row += [offering.ce_broker_subject_code, line["hours"]]
            roster.rows.append(row)
    return roster


def ce_broker_xls(roster):
    """The .xls CE Broker's roster upload takes: one row per licensee, no header row, text cells."""
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("Roster")
    for row_index, row in enumerate(roster.rows):
        for column_index, value in enumerate(row):
            sheet.write(row_index, column_index, exports.safe_cell(str(value)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def attendance_credit_csv(event, body):
    """Every confirmed CE registrant: minutes per session, credit under `body`, and why short.

    A board roster file like CE Broker's: its headers and yes/no cells stay as the bodies read
    them, untranslated."""
    offering = event.ce_offerings.select_related("body").get(body=body)
    sessions = [s for s in event.sessions.all() if s.ce_minutes]
    buffer = io.StringIO()
    writer = exports.csv_writer(buffer)
    writer.writerow(
        ["Name", "Email", "Licenses"]
        + [
            f"Session {n}: {s.title} (minutes attended of "
            f"{round((s.end - s.start).total_seconds() / 60)})"
            for n, s in enumerate(sessions, start=1)
        ]
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
        presence = session_presence(registration)
        result = credit_for(offering, presence)
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
            + [p.attended_minutes for p in presence]
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
