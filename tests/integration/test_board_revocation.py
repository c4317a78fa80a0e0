"""A revocation sticks: no certificate comes back by bulk issue or auto-issue until a CE
administrator reinstates the registration with a reason, and that is audited."""

from datetime import timedelta

import pytest
from django.urls import reverse

from certification import services
from certification.factories import (
    ce_settings,
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import Certificate, CertificateStatus, EvaluationResponse
from cms.models import AuditRecord
from cms.roles import CE_ADMINISTRATOR, EVENT_MANAGER
from courses import attendance

pytestmark = [pytest.mark.board, pytest.mark.django_db]

REASON = "did not attend days 3–5"


@pytest.fixture
def event():
    make_sponsor()
    event = make_event("Five-Day Intensive")
    make_offering(event, make_body("APA"))
    return event


def ready(event, name):
    """A confirmed registration that attended everything and submitted the evaluation."""
    registration = make_registration(event, name=name)
    for session in event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return registration


def revoked(registration, actor):
    certificate = services.issue_certificate(registration, notify=False)
    return services.revoke_certificate(certificate, actor=actor, reason=REASON)


def test_bulk_issue_for_someone_else_skips_the_revoked_registration(
    client, staff_signed_in, event, django_capture_on_commit_callbacks
):
    admin = staff_signed_in(CE_ADMINISTRATOR)
    rhea = ready(event, "Rhea Revoked")
    old = revoked(rhea, admin)
    nia = ready(event, "Nia New")

    page = client.get(reverse("certification_admin:event", args=[event.pk])).content.decode()

    assert f"Revoked ({REASON}, by Sam Staff, " in page
    assert f'name="registration" value="{rhea.pk}"' not in page
    assert f'name="registration" value="{nia.pk}"' in page
    assert services.eligibility(rhea).status == services.EligibilityStatus.REVOKED

    # A forged form (or a stale page) that still ticks Rhea issues only Nia's certificate.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("certification_admin:event", args=[event.pk]),
            {"registration": [str(rhea.pk), str(nia.pk)]},
        )

    assert nia.certificates.filter(status=CertificateStatus.ISSUED).count() == 1
    assert list(rhea.certificates.values_list("pk", "status")) == [
        (old.pk, CertificateStatus.REVOKED)
    ]
    job = event.certificate_jobs.get()
    assert (job.issued, job.total) == (1, 2)
    assert (
        "Rhea Revoked is not eligible: Revoked (did not attend days 3–5, by Sam Staff"
        in (job.problems[0])
    )
    verify = client.get(reverse("certification:verify", args=[old.code])).content.decode()
    assert "Revoked." in verify and "Valid." not in verify


def test_auto_issue_after_the_evaluation_skips_a_revoked_registration(event):
    ce_settings(event, auto_issue_on_evaluation=True)
    event.ce_offerings.update(body=make_body("NBCC", evaluation_required=False))
    staff = make_user("ce@example.org", "Casey Admin")
    user = make_user("rio@example.org", "Rio Revoked")
    registration = make_registration(event, name="Rio Revoked", user=user)
    for session in event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
    revoked(registration, staff)

    _response, certificate = services.submit_evaluation(registration, {}, actor=user)

    assert certificate is None
    assert not registration.certificates.filter(status=CertificateStatus.ISSUED).exists()
    with pytest.raises(services.NotEligible, match="Revoked"):
        services.issue_certificate(registration)


def test_reinstating_needs_a_reason_is_audited_and_makes_the_attendee_eligible_again(
    client, staff_signed_in, event
):
    admin = staff_signed_in(CE_ADMINISTRATOR, legal_name="Dana Whitfield")
    registration = ready(event, "Rhea Revoked")
    old = revoked(registration, admin)
    url = reverse("certification_admin:reinstate", args=[event.pk, registration.pk])

    response = client.post(url, {"reason": "  "}, follow=True)

    assert "Give the reason for reinstating" in response.content.decode()
    old.refresh_from_db()
    assert old.reinstated_at is None
    assert services.eligibility(registration).status == services.EligibilityStatus.REVOKED

    response = client.post(url, {"reason": "Sign-in sheets for days 3–5 found"}, follow=True)

    page = response.content.decode()
    assert "Rhea Revoked is reinstated" in page
    assert f'name="registration" value="{registration.pk}"' in page  # the Issue box is back
    old.refresh_from_db()
    assert old.status == CertificateStatus.REVOKED  # the revoked certificate stays revoked
    assert (old.reinstated_by, old.reinstate_reason) == (
        admin,
        "Sign-in sheets for days 3–5 found",
    )
    record = AuditRecord.objects.get(action="certification.certificate.reinstated")
    assert (record.object_id, record.note) == (str(old.pk), "Sign-in sheets for days 3–5 found")
    assert services.eligibility(registration).status == services.EligibilityStatus.ELIGIBLE
    new = services.issue_certificate(registration, notify=False)
    assert new.pk != old.pk and new.status == CertificateStatus.ISSUED


def test_staff_without_the_ce_capability_cannot_reinstate(client, staff_signed_in, event):
    staff = make_user("ce@example.org", "Casey Admin")
    registration = ready(event, "Rhea Revoked")
    old = revoked(registration, staff)
    staff_signed_in(EVENT_MANAGER, email="events@example.org")

    response = client.post(
        reverse("certification_admin:reinstate", args=[event.pk, registration.pk]),
        {"reason": "Please let them through"},
    )

    # Refused as every CE screen refuses staff without the capability (to the dashboard).
    assert response.status_code == 403 or response["Location"] == "/admin/"
    old.refresh_from_db()
    assert old.reinstated_at is None
    assert not AuditRecord.objects.filter(action="certification.certificate.reinstated").exists()
    assert services.eligibility(registration).status == services.EligibilityStatus.REVOKED


def test_a_revocation_made_after_eligibility_was_read_still_stops_the_issue(event):
    """The check under the registration's lock: the PDF renders first, then the save refuses."""
    staff = make_user("ce@example.org", "Casey Admin")
    registration = ready(event, "Rhea Revoked")
    first = services.issue_certificate(registration, notify=False)
    services.revoke_certificate(first, actor=staff, reason=REASON)
    certificate = Certificate(
        registration=registration,
        event=event,
        attendee_name=registration.attendee_name,
        program_title=event.title,
        program_dates="",
        program_format="",
        completed_on=first.completed_on,
        total_hours=first.total_hours,
        sponsor_name="Sponsor",
        issue_date=first.issue_date + timedelta(days=1),
    )

    with pytest.raises(services.NotEligible, match="Revoked"):
        services.issuing._save_issued(certificate, actor=staff, notify=False)

    assert not registration.certificates.filter(status=CertificateStatus.ISSUED).exists()
