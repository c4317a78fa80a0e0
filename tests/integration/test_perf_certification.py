"""Query counts that must not grow with the work: My CE, issuing a certificate, the transcript.

Each test compares the same page or job at a small and a larger size; a page that runs one
query per row fails them (the `scaling` benchmark measures the same at bench sizes).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from certification import services, transcripts
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import Certificate, EvaluationQuestion, EvaluationResponse
from certification.models.certificates import new_certificate_code
from courses.models import AttendanceSource, SessionAttendance

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sponsor():
    return make_sponsor()


def ce_event(number, sessions=3):
    starts = (timezone.now() - timedelta(days=2)).replace(hour=9, minute=0, second=0)
    event = make_event(
        f"Workshop {number} of {sessions} sessions",
        sessions=[
            (f"Session {n + 1}", starts + timedelta(minutes=100 * n), 90, 90)
            for n in range(sessions)
        ],
        slug=f"workshop-{number}-{sessions}",
    )
    make_offering(event, make_body("APA"))
    EvaluationQuestion.objects.create(event=event, prompt="Was it useful?", kind="rating")
    return event


def attend_everything(registration):
    SessionAttendance.objects.bulk_create(
        SessionAttendance(
            registration=registration,
            session=session,
            checked_in_at=session.start - timedelta(minutes=5),
            source=AttendanceSource.STAFF,
        )
        for session in registration.event.sessions.all()
    )


def queries_of_get(client, path):
    client.get(path)  # per-process caches warm, as for a real visitor
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


def my_ce_queries(client, email, events):
    member = make_user(email, f"Member {len(events)}")
    for event in events:
        registration = make_registration(event, user=member, name=member.legal_name)
        attend_everything(registration)
    client.force_login(member)
    return queries_of_get(client, reverse("certification:my_ce"))


def test_my_ce_costs_the_same_queries_for_one_or_many_pending_registrations(client):
    events = [ce_event(number) for number in range(5)]
    one, page = my_ce_queries(client, "one@example.org", events[:1])
    assert "Workshop 0 of 3 sessions" in page and "Complete the evaluation" in page
    many, page = my_ce_queries(client, "many@example.org", events)
    assert all(f"Workshop {n} of 3 sessions" in page for n in range(5))
    assert page.count("Complete the evaluation") == 5
    assert many == one


def issue_queries(event):
    registration = make_registration(event, name=f"Attendee of {event.title}")
    attend_everything(registration)
    EvaluationResponse.objects.create(registration=registration, event=event)
    with CaptureQueriesContext(connection) as captured:
        certificate = services.issue_certificate(registration, notify=False)
    assert certificate.credits[0]["hours"]
    return len(captured.captured_queries)


def test_issuing_a_certificate_costs_the_same_queries_for_3_or_12_sessions():
    issue_queries(ce_event("warm-up"))
    assert issue_queries(ce_event(3, sessions=3)) == issue_queries(ce_event(12, sessions=12))


def person_with_certificates(count, email):
    event = ce_event(f"t{count}")
    person = make_user(email, f"Transcript {count}")
    registrations = [
        make_registration(event, user=person, name=person.legal_name) for _ in range(count)
    ]
    attend_everything(registrations[0])
    EvaluationResponse.objects.create(registration=registrations[0], event=event)
    first = services.issue_certificate(registrations[0], notify=False)
    copies = []
    for registration in registrations[1:]:
        copy = Certificate.objects.get(pk=first.pk)
        copy.pk, copy.code, copy.registration = None, new_certificate_code(), registration
        copies.append(copy)
    Certificate.objects.bulk_create(copies)
    return person


def transcript_queries(person):
    with CaptureQueriesContext(connection) as captured:
        data = transcripts.transcript_pdf(person, transcripts.certificates_for(person))
    assert data.startswith(b"%PDF")
    return len(captured.captured_queries)


def test_the_transcript_costs_the_same_queries_for_one_or_many_certificates(client):
    one = person_with_certificates(1, "one@example.org")
    many = person_with_certificates(6, "many@example.org")
    assert transcript_queries(one) == transcript_queries(many)
    client.force_login(one)
    inline_one, _ = queries_of_pdf(client)
    client.force_login(many)
    inline_many, _ = queries_of_pdf(client)
    assert inline_one == inline_many


def queries_of_pdf(client):
    path = reverse("certification:my_transcript_pdf")
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response["Content-Type"] == "application/pdf"
    return len(captured.captured_queries), response
