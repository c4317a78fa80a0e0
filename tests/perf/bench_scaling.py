"""Query counts that must not grow with the work: each pair is one page or job at two sizes.

A page or job that runs one query per row costs N queries for N rows; one that prefetches
costs the same for 1 row and for 5,000. So the floor of each count is the same count at the
small size, and each pair's `*_equal` says whether the big one stayed there. Counts, not
times: they do not depend on the machine, so this one needs no interleaving.

Runs in process (Django's test client, through the whole middleware stack) on a PostgreSQL
database made fresh for the run (`<bench database>_scaling`), since the staff list counts
every registration in the table. Each figure is the second of two identical requests, so
per-process caches (site root, settings) are warm, as they are for a real visitor.

- `my_ce_queries_1` / `my_ce_queries_50`: My CE for a member with 1 and 50 pending
  registrations (confirmed, CE asked for, no certificate yet), each on its own past event.
- `certificate_queries_3_sessions` / `certificate_queries_12_sessions`: `issue_certificate`
  for an attendee who attended every session of a 3- and a 12-session event.
- `staff_list_queries_10` / `staff_list_queries_5000`: the admin registrations list
  (`/admin/course_registrations/`) with 10 and 5,000 registrations in the database, for an
  event manager signed in with a second factor.
- `transcript_queries_1` / `transcript_queries_200`: building the transcript PDF for a member
  with 1 and 200 valid certificates (one real certificate issued through the service, the
  others copies of it on the member's other registrations, so building them takes seconds).
  It is the work the request does for up to 50 certificates and the worker for more (the
  request then only queues it), so it is counted around the build itself.

`python -m tests.perf.run_all scaling`. Prints one JSON line; exits 0 whatever the counts
(the next step is fixing them; `make test` holds the query-count assertions).
"""

import json
import sys
import time
import uuid
from datetime import timedelta

from tests.perf.database import fresh_database, setup_django

PAIRS = {
    "my_ce_queries": ("my_ce_queries_1", "my_ce_queries_50"),
    "certificate_queries": ("certificate_queries_3_sessions", "certificate_queries_12_sessions"),
    "staff_list_queries": ("staff_list_queries_10", "staff_list_queries_5000"),
    "transcript_queries": ("transcript_queries_1", "transcript_queries_200"),
}


def count_queries(client, path):
    """Queries of the second GET of `path` (the first warms per-process caches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return len(captured.captured_queries), response


def past_events(count, *, sessions=3):
    """`count` CE events that ended two days ago, each with an APA offering."""
    from django.utils import timezone

    from certification.factories import make_body, make_event, make_offering

    body = make_body("APA")
    starts = (timezone.now() - timedelta(days=2)).replace(hour=9, minute=0, second=0)
    schedule = [
        (f"Session {n + 1}", starts + timedelta(minutes=100 * n), 90, 90) for n in range(sessions)
    ]
    events = []
    for number in range(count):
        event = make_event(
            f"Scaling workshop {number} with {sessions} sessions",
            sessions=schedule,
            slug=f"scaling-{sessions}-{number}-{uuid.uuid4().hex[:6]}",
        )
        make_offering(event, body)
        events.append(event)
    return events


def member_client(member):
    from django.test import Client

    client = Client()
    client.force_login(member)
    return client


def my_ce_queries(events, pending):
    """My CE for a member with `pending` registrations awaiting a certificate."""
    from certification.factories import make_registration
    from tests.accounts_support import make_member

    member = make_member(f"my-ce-{pending}@example.org", f"Pending Member {pending}")
    for event in events[:pending]:
        make_registration(event, user=member, name=member.legal_name)
    queries, response = count_queries(member_client(member), "/ce/")
    assert events[pending - 1].title.encode() in response.content, "a pending event is missing"
    return queries


def attend_everything(registration):
    from certification.models import EvaluationResponse
    from courses.models import AttendanceSource, SessionAttendance

    SessionAttendance.objects.bulk_create(
        SessionAttendance(
            registration=registration,
            session=session,
            checked_in_at=session.start - timedelta(minutes=5),
            source=AttendanceSource.STAFF,
        )
        for session in registration.event.sessions.all()
    )
    EvaluationResponse.objects.create(registration=registration, event=registration.event)


def certificate_queries(sessions):
    """Queries of issuing one certificate for an attendee of every one of `sessions`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from certification import services
    from certification.factories import make_registration, make_sponsor
    from certification.models import CertificateStatus

    (event,) = past_events(1, sessions=sessions)
    registration = make_registration(event, name=f"Attendee of {sessions} sessions")
    attend_everything(registration)
    sponsor = make_sponsor()
    with CaptureQueriesContext(connection) as captured:
        certificate = services.issue_certificate(registration, sponsor=sponsor)
    if certificate is None or certificate.status != CertificateStatus.ISSUED:
        raise RuntimeError(f"no certificate issued for {sessions} sessions: {certificate!r}")
    return len(captured.captured_queries)


def staff_list_queries(small, large):
    """The admin registrations list with `small`, then `large` registrations in the database."""
    from django.test import Client

    from certification.factories import make_registration
    from cms.roles import EVENT_MANAGER
    from courses.models import Booking, BookingStatus, Registration, RegistrationStatus
    from tests.accounts_support import log_in_with_second_factor, make_staff_in_role

    (event,) = past_events(1)
    for number in range(small):
        make_registration(event, name=f"Listed Attendee {number}")
    if Registration.objects.count() != small:
        raise RuntimeError(f"expected {small} registrations, found {Registration.objects.count()}")
    client = Client()
    log_in_with_second_factor(client, make_staff_in_role(EVENT_MANAGER, "manager@example.org"))
    path = "/admin/course_registrations/"
    queries_small, response = count_queries(client, path)
    assert b"Listed Attendee 0" in response.content, "the list does not show the registrations"

    purchaser = make_registration(event, name="Listed Attendee bulk").booking.purchaser
    ticket = event.ticket_types.first()
    bookings = Booking.objects.bulk_create(
        Booking(event=event, purchaser=purchaser, status=BookingStatus.CONFIRMED)
        for _ in range(large - small - 1)
    )
    Registration.objects.bulk_create(
        Registration(
            booking=booking,
            event=event,
            ticket_type=ticket,
            attendee_name=f"Bulk Attendee {number:05d}",
            attendee_email=f"bulk{number}@example.org",
            status=RegistrationStatus.CONFIRMED,
            unit_price=0,
        )
        for number, booking in enumerate(bookings)
    )
    if Registration.objects.count() != large:
        raise RuntimeError(f"expected {large} registrations, found {Registration.objects.count()}")
    queries_large, _ = count_queries(client, path)
    return queries_small, queries_large


def transcript_queries(events, certificates):
    """Building the transcript PDF for a member with `certificates` valid certificates."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from certification import services, transcripts
    from certification.factories import make_registration, make_sponsor
    from certification.models.certificates import Certificate, new_certificate_code
    from tests.accounts_support import make_member

    member = make_member(f"transcript-{certificates}@example.org", f"Transcript {certificates}")
    registrations = [
        make_registration(events[n % len(events)], user=member, name=member.legal_name)
        for n in range(certificates)
    ]
    attend_everything(registrations[0])
    first = services.issue_certificate(registrations[0], sponsor=make_sponsor())
    copies = []
    for registration in registrations[1:]:
        copy = Certificate.objects.get(pk=first.pk)
        copy.pk = None
        copy.code = new_certificate_code()
        copy.registration = registration
        copy.event = registration.event
        copy.program_title = registration.event.title
        copies.append(copy)
    Certificate.objects.bulk_create(copies)
    with CaptureQueriesContext(connection) as captured:
        data = transcripts.transcript_pdf(member, transcripts.certificates_for(member))
    assert data.startswith(b"%PDF"), "the transcript is not a PDF"
    return len(captured.captured_queries)


def main():
    started = time.perf_counter()
    database = fresh_database("scaling")
    setup_django()
    from certification.factories import make_sponsor

    make_sponsor()
    result = {"bench": "scaling"}
    result["staff_list_queries_10"], result["staff_list_queries_5000"] = staff_list_queries(
        10, 5000
    )
    events = past_events(50)
    result["my_ce_queries_1"] = my_ce_queries(events, 1)
    result["my_ce_queries_50"] = my_ce_queries(events, 50)
    result["certificate_queries_3_sessions"] = certificate_queries(3)
    result["certificate_queries_12_sessions"] = certificate_queries(12)
    result["transcript_queries_1"] = transcript_queries(events, 1)
    result["transcript_queries_200"] = transcript_queries(events, 200)
    for pair, (small_name, large_name) in PAIRS.items():
        result[f"{pair}_equal"] = result[small_name] == result[large_name]
    result["target"] = "each pair equal (*_equal true)"
    result["all_equal"] = all(result[f"{pair}_equal"] for pair in PAIRS)
    result["database"] = database
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
