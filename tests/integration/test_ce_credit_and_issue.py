"""Credit under each body's rules, eligibility, issuing, reissue, revoke, Zoom import."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from certification import services
from certification.credits import credits_for_registration
from certification.factories import (
    ce_settings,
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import (
    AccreditingBody,
    CertificateStatus,
    CreditBasis,
    EvaluationResponse,
)
from cms.models import AuditRecord
from courses import attendance
from courses.models import AttendanceSource, SessionAttendance, ZoomImportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    make_sponsor()
    event = make_event("Deliberate Practice Day")
    make_offering(event, make_body("APA", minutes_per_credit=60))
    make_offering(
        event,
        make_body(
            "FL PSY",
            name="Florida Board of Psychology",
            credit_basis=CreditBasis.FULL_PROGRAM,
            jurisdiction="FL",
        ),
    )
    return event


def sessions(event):
    return list(event.sessions.order_by("start"))


def attend_all(registration, *, skip_minutes_of=None, minutes=0):
    for number, session in enumerate(sessions(registration.event), start=1):
        start = session.start
        if number == skip_minutes_of:
            start = session.start + timedelta(minutes=minutes)
        attendance.check_in(registration, session, at=start)


def test_late_arrival_costs_credit_with_the_reason_in_words(event):
    registration = make_registration(event, name="Late Larry")
    attend_all(registration, skip_minutes_of=3, minutes=40)

    apa, florida = credits_for_registration(registration)

    # APA gives per-session credit: sessions 1 and 2 (90 + 90 minutes) = 3 hours.
    assert apa.hours == Decimal("3.00")
    assert apa.reason == "missed 40 minutes of session 3 (Session three: Deliberate practice)"
    # Florida psychology: whole program or nothing.
    assert florida.hours == 0
    assert "only for the whole program" in florida.reason
    assert "missed 40 minutes of session 3" in florida.reason


def test_early_leaving_counts_and_rejoining_is_not_double_counted(event):
    registration = make_registration(event)
    first, second, third = sessions(event)
    attendance.check_in(registration, first, at=first.start)
    attendance.check_in(registration, second, at=second.start)
    attendance.check_out(registration, second, at=second.start + timedelta(minutes=30))
    attendance.check_in(registration, second, at=second.start + timedelta(minutes=20))
    attendance.check_in(registration, third, at=third.start)
    attendance.check_out(registration, third, at=third.end - timedelta(minutes=15))

    apa, _florida = credits_for_registration(registration)

    assert "missed 15 minutes of session 3" in apa.reason
    assert "session 2" not in apa.reason  # the overlapping re-entry filled the gap
    assert apa.hours == Decimal("3.00")


def test_a_lapsed_approval_gives_no_credit(event):
    registration = make_registration(event)
    attend_all(registration)
    apa = event.ce_offerings.get(body__short_name="APA").body
    apa.approved_until = event.local(event.starts_at).date() - timedelta(days=1)
    apa.save()

    apa_result = next(c for c in credits_for_registration(registration) if c.body == apa)

    assert apa_result.hours == 0
    assert "the APA approval was not valid on" in apa_result.reason


def test_a_recorded_program_needs_the_post_test_where_the_body_says_so(event):
    ce_settings(event, is_recorded=True)
    registration = make_registration(event)
    attend_all(registration)

    apa, _florida = credits_for_registration(registration)

    assert apa.hours == 0
    assert apa.reason == "APA requires a passed post-test for a recorded program"


def test_ineligible_attendee_is_refused_with_the_reason(event):
    registration = make_registration(event, name="Absent Abe")
    with pytest.raises(services.NotEligible, match="short attendance"):
        services.issue_certificate(registration)

    attend_all(registration)
    with pytest.raises(services.NotEligible, match="missing evaluation"):
        services.issue_certificate(registration)

    unpaid = make_registration(event, name="No CE Nora", wants_ce=False)
    attend_all(unpaid)
    assert services.eligibility(unpaid).status == services.CE_FEE_UNPAID


def test_issue_emails_the_attendee_and_reissue_supersedes(
    event, django_capture_on_commit_callbacks
):
    user = make_user("maria@example.org", "Maria Gonzalez")
    registration = make_registration(event, name="Maria Gonzales", user=user)
    attend_all(registration)
    EvaluationResponse.objects.create(registration=registration, event=event)

    with django_capture_on_commit_callbacks(execute=True):
        certificate = services.issue_certificate(registration)

    assert certificate.status == CertificateStatus.ISSUED
    assert [m.to for m in mail.outbox] == [["maria@example.org"]]
    assert certificate.code in mail.outbox[0].body
    assert f"/ce/certificates/{certificate.code}/" in mail.outbox[0].body
    assert services.issue_certificate(registration).pk == certificate.pk  # no duplicate
    original_pdf = services.certificate_pdf_bytes(certificate)

    registration.attendee_name = "Maria Gonzalez"
    registration.save()
    staff = make_user("ce@example.org", "CE Admin")
    replacement = services.reissue_certificate(certificate, actor=staff, note="Name misspelt")

    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.SUPERSEDED
    assert replacement.supersedes == certificate
    assert replacement.attendee_name == "Maria Gonzalez"
    assert certificate.current_version() == replacement
    # The old PDF is untouched and still matches its hash.
    assert services.certificate_pdf_bytes(certificate) == original_pdf
    assert replacement.pdf_path != certificate.pdf_path
    assert AuditRecord.objects.filter(action="certification.certificate.superseded").exists()

    services.revoke_certificate(replacement, actor=staff, reason="Attendance was recorded in error")
    replacement.refresh_from_db()
    assert replacement.status == CertificateStatus.REVOKED
    assert replacement.revoke_reason == "Attendance was recorded in error"
    with pytest.raises(services.CEError):
        services.revoke_certificate(certificate, actor=staff, reason="")


def test_bulk_issue_job_reports_progress_and_refusals(event, django_capture_on_commit_callbacks):
    ok = make_registration(event, name="Ready Rita")
    short = make_registration(event, name="Short Sam")
    attend_all(ok)
    EvaluationResponse.objects.create(registration=ok, event=event)
    staff = make_user("ce2@example.org", "CE Admin")

    with django_capture_on_commit_callbacks(execute=True):
        job = services.start_issue_job(event, [ok.pk, short.pk], actor=staff)

    job.refresh_from_db()  # Celery is eager in tests: the job has run
    assert (job.status, job.done, job.total, job.issued) == ("finished", 2, 2, 1)
    assert "Short Sam is not eligible: short attendance" in job.problems[0]
    assert ok.certificates.count() == 1 and short.certificates.count() == 0


def test_auto_issue_on_evaluation(event):
    ce_settings(event, auto_issue_on_evaluation=True)
    user = make_user("auto@example.org", "Auto Ann")
    registration = make_registration(event, name="Auto Ann", user=user)
    attend_all(registration)

    _response, certificate = services.submit_evaluation(registration, {}, actor=user)

    assert certificate is not None and certificate.attendee_name == "Auto Ann"


def zoom_csv(rows):
    lines = [
        "Attendee Report",
        "Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered",
        "Deliberate Practice Day,1,11/19/2026 09:58:12 AM,400,3",
        "",
        "Attendee Details",
        "Attended,User Name (Original Name),First Name,Last Name,Email,Join Time,Leave Time,"
        "Time in Session (minutes),Is Guest",
    ] + rows
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def local(event, moment):
    return event.local(moment).strftime("%m/%d/%Y %I:%M:%S %p")


def test_zoom_import_merges_matches_and_lists_unmatched(event):
    registration = make_registration(event, name="Webinar Wen", email="wen@example.org")
    first, second, third = sessions(event)
    rows = [
        # Two overlapping devices for session 1, a drop and rejoin in session 2 (10 min gap).
        f"Yes,Wen,Wen,W,WEN@example.org,{local(event, first.start)},"
        f"{local(event, first.end)},90,No",
        f"Yes,Wen phone,Wen,W,wen@example.org,{local(event, first.start + timedelta(minutes=30))},"
        f"{local(event, second.start + timedelta(minutes=50))},120,No",
        f"Yes,Wen,Wen,W,wen@example.org,{local(event, second.start + timedelta(minutes=60))},"
        f"{local(event, third.end)},200,No",
        f"Yes,Stranger,S,T,stranger@example.org,{local(event, first.start)},"
        f"{local(event, first.end)},90,No",
    ]
    upload = SimpleUploadedFile("report.csv", zoom_csv(rows), content_type="text/csv")
    # A strict body (no grace), so the 10-minute gap shows as a shortfall.
    AccreditingBody.objects.filter(short_name="APA").update(late_grace_minutes=0)

    batch = attendance.import_zoom_report(event, upload, actor=None)

    assert batch.status == ZoomImportStatus.IMPORTED
    assert [u["email"] for u in batch.summary["unmatched"]] == ["stranger@example.org"]
    assert batch.summary["overlaps_merged"][0]["email"] == "wen@example.org"
    apa, _ = credits_for_registration(registration)
    assert apa.reason == "missed 10 minutes of session 2 (Session two: Measures in practice)"
    assert SessionAttendance.objects.filter(source=AttendanceSource.ZOOM).count() >= 3

    # The same file again is refused, and nothing new is recorded.
    count = SessionAttendance.objects.count()
    upload = SimpleUploadedFile("report.csv", zoom_csv(rows), content_type="text/csv")
    again = attendance.import_zoom_report(event, upload, actor=None)
    assert again.status == ZoomImportStatus.REFUSED
    assert "already imported" in again.summary["errors"][0]
    assert SessionAttendance.objects.count() == count

    # Staff match the stranger to a registration: their minutes now count.
    other = make_registration(event, name="Stranger Danger", email="sd@example.org")
    attendance.resolve_zoom_rows(batch, "stranger@example.org", other, actor=None)
    assert other.attendances.count() == 1


def test_zoom_file_with_a_bad_row_imports_nothing(event):
    make_registration(event, email="ok@example.org")
    first = sessions(event)[0]
    rows = [
        f"Yes,Ok,O,K,ok@example.org,{local(event, first.start)},{local(event, first.end)},90,No",
        "Yes,Bad,B,D,bad@example.org,not a time,also not,0,No",
    ]
    upload = SimpleUploadedFile("report.csv", zoom_csv(rows), content_type="text/csv")

    batch = attendance.import_zoom_report(event, upload, actor=None)

    assert batch.status == ZoomImportStatus.REFUSED
    assert any("Line 8 (Bad)" in error for error in batch.summary["errors"])
    assert SessionAttendance.objects.count() == 0
    assert batch.rows.count() == 0


def test_attendance_changes_are_audited_and_voided_not_deleted(event):
    registration = make_registration(event)
    session = sessions(event)[0]
    staff = make_user("door@example.org", "Door Staff")
    entry, created = attendance.check_in(registration, session, actor=staff)
    assert created
    assert attendance.check_in(registration, session, actor=staff) == (entry, False)
    attendance.void_attendance(entry, actor=staff, reason="Checked in the wrong person")
    entry.refresh_from_db()
    assert entry.voided_at and entry.void_reason == "Checked in the wrong person"
    actions = list(
        AuditRecord.objects.filter(object_id=str(entry.pk)).values_list("action", flat=True)
    )
    assert set(actions) == {"courses.attendance.checked_in", "courses.attendance.voided"}


def test_the_ce_add_on_is_how_attendees_pay_for_ce(event):
    from courses.models import AddOn, RegistrationAddOn

    ce = AddOn.objects.create(event=event, name="CE credits", price=2500, grants_ce=True)
    bought = make_registration(event, name="Bought Bea", wants_ce=False)
    RegistrationAddOn.objects.create(registration=bought, add_on=ce, unit_price=2500)
    skipped = make_registration(event, name="Skipped Sid", wants_ce=True)
    for registration in (bought, skipped):
        attend_all(registration)
        EvaluationResponse.objects.create(registration=registration, event=event)

    assert services.eligibility(bought).status == services.ELIGIBLE
    assert services.eligibility(skipped).status == services.CE_FEE_UNPAID
    assert "CE add-on was not bought" in services.eligibility(skipped).reason
