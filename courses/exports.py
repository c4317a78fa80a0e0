"""Event rosters for staff: one row per confirmed seat, as CSV or XLSX. Headings and yes/no are
for people and translated; the confirmation time stays a sortable ISO-like data value."""

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font

from cms import exports
from courses.models import Registration, RegistrationStatus

BASE_COLUMNS = [
    gettext_lazy("Legal name"),
    gettext_lazy("Email"),
    gettext_lazy("Ticket"),
    gettext_lazy("Status"),
    gettext_lazy("Profession"),
    gettext_lazy("License number"),
    gettext_lazy("License jurisdiction"),
    gettext_lazy("CE requested"),
    gettext_lazy("Add-ons"),
    gettext_lazy("Accessibility needs"),
    gettext_lazy("Dietary needs"),
    gettext_lazy("Booked by"),
    gettext_lazy("Booking"),
    gettext_lazy("Confirmed at"),
]


def roster_rows(event):
    """The header and one row per confirmed registration, answers to staff questions last."""
    questions = list(event.questions.all())
    header = [str(column) for column in BASE_COLUMNS] + [q.label for q in questions]
    registrations = (
        Registration.objects.filter(event=event, status=RegistrationStatus.CONFIRMED)
        .select_related("ticket_type", "booking__purchaser")
        .prefetch_related("add_on_lines__add_on")
        .order_by("attendee_name", "pk")
    )
    rows = [header]
    for r in registrations:
        answers = r.answers or {}
        confirmed = timezone.localtime(r.confirmed_at, event.zone) if r.confirmed_at else None
        rows.append(
            [
                r.attendee_name,
                r.attendee_email,
                r.ticket_type.name,
                r.get_status_display(),
                r.profession,
                r.license_number,
                r.license_jurisdiction,
                _("yes") if r.wants_ce else _("no"),
                ", ".join(line.add_on.name for line in r.add_on_lines.all()),
                r.accessibility_needs,
                r.dietary_needs,
                r.booking.purchaser.email,
                str(r.booking.public_id),
                confirmed.strftime("%Y-%m-%d %H:%M") if confirmed else "",
            ]
            + [_answer(answers.get(str(q.pk), "")) for q in questions]
        )
    return rows


def _answer(value):
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def roster_csv(event):
    return exports.csv_text(roster_rows(event)).encode("utf-8")


def roster_xlsx(event):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Roster")
    for index, row in enumerate(roster_rows(event)):
        exports.append_row(sheet, row)
        if index == 0:
            for cell in sheet[1]:
                cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def roster_filename(event, extension):
    return f"roster-{event.slug}.{extension}"
