"""Attendance pages: staff check-in on a phone, the presenter's code, self check-in, Zoom import.

Thin views: every change goes through `courses.attendance`.
"""

import base64
import io
from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cms.access import Perm, members, owner, staff
from cms.untrusted_input import parse_uuid, query_text

from . import attendance
from .models import (
    EventPage,
    EventSession,
    Registration,
    RegistrationStatus,
    SessionAttendance,
    ZoomImport,
    ZoomImportStatus,
)


class ZoomUploadForm(forms.Form):
    report = forms.FileField(
        label=gettext_lazy("Zoom attendee report (CSV)"),
        help_text=gettext_lazy(
            "In Zoom: Reports › Webinars › Attendee report › Export. Upload it unchanged."
        ),
    )


class SelfCheckInForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Session code"),
        max_length=20,
        help_text=gettext_lazy("The six-character code the presenter shows on screen."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


def _qr_png_data_uri(text):
    import qrcode

    image = qrcode.make(text, border=2, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def check_in_pass_url(registration, request=None):
    """The URL in the attendee's QR code; staff scanning it land on the check-in screen."""
    path = reverse("attendance:scan", args=[attendance.check_in_token(registration)])
    return request.build_absolute_uri(path) if request else path


def current_session(event, now=None):
    """The session running now, else the next one today, else the first."""
    now = now or timezone.now()
    sessions = list(event.sessions.order_by("start"))
    for session in sessions:
        if session.start - attendance.SELF_CHECK_IN_OPENS_BEFORE <= now <= session.end:
            return session
    upcoming = [s for s in sessions if s.start > now]
    return upcoming[0] if upcoming else (sessions[-1] if sessions else None)


@staff(Perm.CHECK_IN_ATTENDEES)
def event_list(request):
    now = timezone.now()
    events = EventPage.objects.filter(
        ends_at__gte=now - timedelta(days=60), starts_at__lte=now + timedelta(days=30)
    ).order_by("starts_at")
    return render(request, "courses/attendance/event_list.html", {"events": events})


def _session_from_request(request, event):
    session_id = request.GET.get("session") or request.POST.get("session")
    if session_id and str(session_id).isdigit():
        return get_object_or_404(EventSession, pk=session_id, event=event)
    return current_session(event)


@staff(Perm.CHECK_IN_ATTENDEES)
def check_in_screen(request, event_id):
    event = get_object_or_404(EventPage, pk=event_id)
    session = _session_from_request(request, event)
    query = query_text(request, "q")
    registrations = list(
        attendance.search_registrations(event, query).prefetch_related("attendances")[
            : attendance.SEARCH_LIMIT
        ]
    )
    rows = []
    for registration in registrations:
        entries = [
            a
            for a in registration.attendances.all()
            if session and a.session_id == session.pk and not a.voided_at
        ]
        open_entry = next((a for a in entries if a.checked_out_at is None), None)
        rows.append({"registration": registration, "entries": entries, "open": open_entry})
    return render(
        request,
        "courses/attendance/check_in.html",
        {
            "event": event,
            "session": session,
            "sessions": event.sessions.order_by("start"),
            "query": query,
            "rows": rows,
        },
    )


def _back_to_screen(event, session, query=""):
    params = {"session": session.pk, **({"q": query} if query else {})}
    return f"{reverse('attendance:check_in', args=[event.pk])}?{urlencode(params)}"


@staff(Perm.CHECK_IN_ATTENDEES)
@require_POST
def record_action(request, event_id, session_id, public_id, action):
    event = get_object_or_404(EventPage, pk=event_id)
    session = get_object_or_404(EventSession, pk=session_id, event=event)
    registration = get_object_or_404(Registration, public_id=public_id, event=event)
    try:
        if action == "check-in":
            _entry, created = attendance.check_in(registration, session, actor=request.user)
            if created:
                messages.success(
                    request,
                    _("%(name)s checked in to %(session)s.")
                    % {"name": registration.attendee_name, "session": session},
                )
            else:
                messages.info(
                    request,
                    _("%(name)s was already checked in.") % {"name": registration.attendee_name},
                )
        elif action == "check-out":
            attendance.check_out(registration, session, actor=request.user)
            messages.success(
                request,
                _("%(name)s checked out of %(session)s.")
                % {"name": registration.attendee_name, "session": session},
            )
        else:
            raise Http404
    except attendance.AttendanceError as error:
        messages.error(request, str(error))
    next_url = request.POST.get("next")
    if next_url and next_url.startswith("/attendance/"):
        return redirect(next_url)
    return redirect(_back_to_screen(event, session, request.POST.get("q", "")))


@staff(Perm.CHECK_IN_ATTENDEES)
@require_POST
def void_entry(request, pk):
    """Cancel a wrong check-in; it stays on record with the reason."""
    entry = get_object_or_404(SessionAttendance.objects.select_related("registration"), pk=pk)
    try:
        attendance.void_attendance(entry, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(
            request,
            _("The entry for %(name)s is voided.") % {"name": entry.registration.attendee_name},
        )
    except attendance.AttendanceError as error:
        messages.error(request, str(error))
    next_url = request.POST.get("next", "")
    if next_url.startswith("/attendance/"):
        return redirect(next_url)
    return redirect("attendance:check_in", event_id=entry.session.event_id)


@staff(Perm.CHECK_IN_ATTENDEES)
def scan(request, token):
    """Where a scanned check-in QR code leads: the attendee, ready to be checked in."""
    try:
        registration = attendance.registration_for_token(token)
    except attendance.AttendanceError as error:
        return render(request, "courses/attendance/scan_invalid.html", {"error": error}, status=404)
    event = registration.event
    session = _session_from_request(request, event)
    entries = [
        a
        for a in registration.attendances.all()
        if session and a.session_id == session.pk and not a.voided_at
    ]
    return render(
        request,
        "courses/attendance/scan.html",
        {
            "registration": registration,
            "event": event,
            "session": session,
            "sessions": event.sessions.order_by("start"),
            "entries": entries,
            "open": next((a for a in entries if a.checked_out_at is None), None),
            "is_confirmed": registration.status == RegistrationStatus.CONFIRMED,
        },
    )


@staff(Perm.CHECK_IN_ATTENDEES)
def presenter_code(request, session_id):
    session = get_object_or_404(EventSession, pk=session_id)
    code = attendance.session_code(session, actor=request.user)
    return render(
        request,
        "courses/attendance/presenter_code.html",
        {
            "session": session,
            "code": code,
            "self_check_in_url": request.build_absolute_uri(reverse("attendance:self_check_in")),
        },
    )


@members
def self_check_in(request):
    form = SelfCheckInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            session, _registration = attendance.self_check_in(
                request.user, form.cleaned_data["code"]
            )
        except attendance.AttendanceError as error:
            form.add_error("code", str(error))
        else:
            messages.success(
                request,
                _("You are checked in to “%(session)s”. Enjoy the session.")
                % {"session": session.title},
            )
            return redirect("attendance:self_check_in")
    return render(request, "courses/attendance/self_check_in.html", {"form": form})


@owner()
def check_in_pass(request, public_id):
    """The attendee's own QR code to show at the door (also linked from the confirmation)."""
    registration = get_object_or_404(
        Registration,
        public_id=public_id,
        attendee=request.user,
        status=RegistrationStatus.CONFIRMED,
    )
    url = check_in_pass_url(registration, request)
    return render(
        request,
        "courses/attendance/pass.html",
        {"registration": registration, "qr": _qr_png_data_uri(url), "url": url},
    )


@staff(Perm.CHECK_IN_ATTENDEES)
def zoom_import(request, event_id):
    event = get_object_or_404(EventPage, pk=event_id)
    form = ZoomUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and form.is_valid():
        batch = attendance.import_zoom_report(
            event, form.cleaned_data["report"], actor=request.user
        )
        if batch.status == ZoomImportStatus.IMPORTED:
            messages.success(request, _("The report was imported. Check the unmatched rows below."))
        else:
            messages.error(request, _("The report was not imported. The reasons are listed below."))
        return redirect("attendance:zoom_report", pk=batch.pk)
    return render(
        request,
        "courses/attendance/zoom_import.html",
        {"event": event, "form": form, "imports": event.zoom_imports.all()[:20]},
    )


@staff(Perm.CHECK_IN_ATTENDEES)
def zoom_report(request, pk):
    batch = get_object_or_404(ZoomImport.objects.select_related("event"), pk=pk)
    event = batch.event
    if request.method == "POST":
        registration = Registration.objects.filter(
            public_id=parse_uuid(request.POST.get("registration")), event=event
        ).first()
        email = request.POST.get("email", "")
        if registration is None:
            messages.error(request, _("Choose the registration this email belongs to."))
        else:
            try:
                count = attendance.resolve_zoom_rows(batch, email, registration, actor=request.user)
                messages.success(
                    request,
                    _("%(count)s row(s) for %(email)s now count for %(name)s.")
                    % {"count": count, "email": email, "name": registration.attendee_name},
                )
            except attendance.AttendanceError as error:
                messages.error(request, str(error))
        return redirect("attendance:zoom_report", pk=batch.pk)
    still_unmatched = set(
        batch.rows.filter(registration__isnull=True).values_list("email", flat=True)
    )
    unmatched = [u for u in batch.summary.get("unmatched", []) if u["email"] in still_unmatched]
    return render(
        request,
        "courses/attendance/zoom_report.html",
        {
            "batch": batch,
            "event": event,
            "summary": batch.summary,
            "unmatched": unmatched,
            "registrations": attendance.search_registrations(event, ""),
        },
    )
