"""Long CE transcripts are built by the worker: the page says so, the owner gets an e-mail with
the link, and the file is theirs (and CE staff's) alone."""

import re
import subprocess

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from certification import services
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import Certificate, EvaluationResponse, TranscriptJob
from certification.models.certificates import new_certificate_code
from cms.roles import CE_ADMINISTRATOR
from courses import attendance
from tests.accounts_support import log_in_with_second_factor, make_staff_with_totp

pytestmark = pytest.mark.django_db

LONG = services.INLINE_LIMIT + 2


def pdf_text(data):
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode("utf-8").split())


def person_with_certificates(count, name="Ana Souza", email="ana@example.org"):
    """A member with `count` valid certificates: one issued, the rest copies on other seats."""
    make_sponsor()
    event = make_event("Measuring What Matters")
    make_offering(event, make_body("APA"))
    user = make_user(email, name)
    registrations = [make_registration(event, name=name, user=user) for _ in range(count)]
    for session in event.sessions.all():
        attendance.check_in(registrations[0], session, at=session.start)
    EvaluationResponse.objects.create(registration=registrations[0], event=event)
    first = services.issue_certificate(registrations[0], notify=False)
    copies = []
    for registration in registrations[1:]:
        copy = Certificate.objects.get(pk=first.pk)
        copy.pk, copy.code, copy.registration = None, new_certificate_code(), registration
        copies.append(copy)
    Certificate.objects.bulk_create(copies)
    return user, first


def test_a_long_transcript_is_built_by_the_worker_and_emailed(
    client, django_capture_on_commit_callbacks
):
    user, certificate = person_with_certificates(LONG)
    client.force_login(user)

    my_ce = client.get(reverse("certification:my_ce")).content.decode()
    assert "Build transcript (PDF)" in my_ce
    response = client.get(reverse("certification:my_transcript_pdf"))
    assert response.status_code == 302
    assert response["Location"] == reverse("certification:transcripts")
    page = client.get(response["Location"]).content.decode()
    assert f"Your transcript lists {LONG} certificates." in page
    assert "e-mail you the link when it is ready" in page

    mail.outbox = []
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("certification:transcripts"))
    job = TranscriptJob.objects.get(owner=user)
    assert response["Location"] == job.get_absolute_url()
    status = client.get(job.get_absolute_url()).content.decode()
    assert 'role="status"' in status
    assert "Waiting to start" in status and f"transcript of {LONG} certificates" in status
    assert "we will e-mail you the link" in status
    assert "being prepared" in client.get(reverse("certification:my_ce")).content.decode()
    # Asking twice while it is on its way starts nothing new.
    client.post(reverse("certification:transcripts"))
    assert TranscriptJob.objects.filter(owner=user).count() == 1
    assert mail.outbox == []

    # The worker's turn: the outbox hands the task over once the request has committed.
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    status = client.get(job.get_absolute_url()).content.decode()
    assert "Ready" in status and f"Your transcript of {LONG} certificates is ready." in status
    (message,) = mail.outbox
    assert message.to == [user.email]
    assert message.subject == "Your CE transcript is ready"
    assert f"({LONG} certificates) is ready" in message.body
    link = re.search(r"https?://\S+", message.body).group(0)
    assert link.endswith(job.get_absolute_url())
    download = client.get(job.get_download_url())
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    text = pdf_text(download.content)
    assert "Ana Souza" in text and "Measuring What Matters" in text
    assert certificate.code in text
    codes = Certificate.objects.filter(registration__attendee=user).values_list("code", flat=True)
    assert len(codes) == LONG and all(code in text for code in codes)


def test_a_transcript_is_private_to_its_owner_and_ce_staff(
    client, django_capture_on_commit_callbacks
):
    user, _certificate = person_with_certificates(LONG)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.request_transcript(user)
    job.refresh_from_db()
    assert job.pdf_path

    client.force_login(make_user("nosy@example.org", "Nosy Neighbour"))
    assert client.get(job.get_absolute_url()).status_code == 404
    assert client.get(job.get_download_url()).status_code == 404
    client.logout()
    response = client.get(job.get_download_url())
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    ce_staff, _secret = make_staff_with_totp(email="ce@example.org")
    ce_staff.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    log_in_with_second_factor(client, ce_staff)
    download = client.get(job.get_download_url())
    assert download.status_code == 200
    assert "Ana Souza" in pdf_text(download.content)


def test_ce_staff_asking_for_a_long_transcript_get_the_link(
    client, django_capture_on_commit_callbacks
):
    user, _certificate = person_with_certificates(LONG)
    ce_staff, _secret = make_staff_with_totp(email="ce@example.org", legal_name="Cee Staff")
    ce_staff.groups.add(Group.objects.get(name=CE_ADMINISTRATOR))
    log_in_with_second_factor(client, ce_staff)
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("certification_admin:person", args=[user.pk]) + "?format=pdf")
    job = TranscriptJob.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    (message,) = mail.outbox
    assert message.to == ["ce@example.org"]
    assert "The continuing-education transcript of Ana Souza" in message.body
    assert "Ready" in client.get(job.get_absolute_url()).content.decode()
