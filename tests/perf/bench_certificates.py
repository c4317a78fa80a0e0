"""The certificates benchmark: issuing one CE certificate against a simple one-page PDF.

`vs_simple_page` is the floor's time for one document divided by the time to issue one
certificate (so ≥ 0.5 means a certificate costs at most twice a simple page). Issuing is what a
CE administrator's bulk issue does per attendee: eligibility from the attendance rows, the
database rows and audit record, the PDF render, storing it with its SHA-256, and the email
queued; the event's own facts (schedule, offerings, CE settings) are read once for all, and
the attendees' own facts (seat, attendance, licenses) FACTS_CHUNK at a time, as the bulk job
reads them (certification.services.issuing.run_issue_job). The floor
(`tests/perf/floors_documents.py`) is a one-page letter in Latin text, a heading and four
paragraphs, rendered by WeasyPrint with the same fonts and a font
configuration kept for the process: no project code, no database. It is the right floor
because it is the least any PDF page costs with this engine and these fonts; what a
certificate costs beyond it is the project's template, data and bookkeeping. The attendees
of that comparison have Latin names, as the floor's text is Latin.

The two run in one process, alternating one floor page and one certificate, in three rounds;
the ratio is the median of the three rounds' ratios. A round is FACTS_CHUNK pairs, so each
round's certificates include exactly one read of a chunk of attendees' facts.

Memory: issuing runs for N=100 and N=1000 attendees (names in eight scripts), each in its
own process, and reports each process's peak resident memory; the growth between the two
must stay under 64 MB (the font configuration is shared and nothing is kept per
certificate). `certs_per_s` comes from the N=1000 run.

The e-mail each certificate promises is written to the outbox in the issue's transaction, as
in production; handing it to the broker is replaced by a no-op, because sending it is the
worker's job in another process (the bench settings would otherwise send it inline).

`BENCH_SHORT=1`: 100/300 attendees (reported as peak_rss_mb_n300).
Prints one JSON line.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

from tests.perf.database import prepare_database, setup_django
from tests.perf.http_load import PROJECT_ROOT

SHORT = bool(os.environ.get("BENCH_SHORT"))
ROUNDS = 3
LARGE_N = 300 if SHORT else 1000
SCRIPTS = [
    "Zoë Ångström-Núñez",
    "Анна Кузнецова",
    "Δημήτρης Παπαδόπουλος",
    "فاطمة الزهراء",
    "王小明",
    "अनिता शर्मा",
    "Kwame Mensah",
    "Nguyễn Thị Lan",
]
LATIN = ["Jane Doe", "Kwame Mensah", "Maria Lopez", "John Smith"]


@contextmanager
def emails_left_to_the_worker():
    """The outbox's hand-over to Celery does nothing: the rows stay written, unsent."""
    from cms import outbox

    with mock.patch.object(outbox.deliver, "delay"):
        yield


def _emails_promised(event_id):
    from certification.models import Certificate
    from cms.models import OutboxMessage

    codes = Certificate.objects.filter(event_id=event_id).values_list("code", flat=True)
    keys = [f"certification.certificate-issued:{code}" for code in codes]
    return OutboxMessage.objects.filter(key__in=keys).count()


def _peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def prepare(n, latin=False):
    """An event with n confirmed attendees who attended everything and gave an evaluation."""
    setup_django()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from certification.factories import make_body, make_event, make_offering, make_sponsor
    from certification.models import CESponsor, EvaluationResponse
    from courses.models import (
        AttendanceSource,
        Booking,
        BookingStatus,
        Registration,
        RegistrationStatus,
        SessionAttendance,
    )

    if CESponsor.current() is None:
        make_sponsor()
    names = LATIN if latin else SCRIPTS
    stamp = int(time.time() * 1000)
    event = make_event(f"Benchmark Conference {stamp}", slug=f"bench-certificates-{stamp}")
    make_offering(event, make_body("APA"))
    make_offering(event, make_body("NBCC", name="National Board for Certified Counselors"))
    purchaser, _ = get_user_model().objects.get_or_create(
        email="bench-purchaser@example.org", defaults={"legal_name": "Bench Purchaser"}
    )
    ticket = event.ticket_types.first()
    bookings = Booking.objects.bulk_create(
        [
            Booking(event=event, purchaser=purchaser, status=BookingStatus.CONFIRMED)
            for _ in range(n)
        ]
    )
    registrations = Registration.objects.bulk_create(
        [
            Registration(
                booking=booking,
                event=event,
                ticket_type=ticket,
                attendee_name=names[i % len(names)] + f" {i}",
                attendee_email=f"bench{stamp}-{i}@example.org",
                license_number=f"SW{i:05d}",
                license_jurisdiction="FL",
                profession="LCSW",
                wants_ce=True,
                status=RegistrationStatus.CONFIRMED,
                unit_price=0,
                confirmed_at=timezone.now(),
            )
            for i, booking in enumerate(bookings)
        ]
    )
    sessions = list(event.sessions.all())
    SessionAttendance.objects.bulk_create(
        [
            SessionAttendance(
                registration=registration,
                session=session,
                checked_in_at=session.start - timedelta(minutes=5),
                source=AttendanceSource.STAFF,
            )
            for registration in registrations
            for session in sessions
        ]
    )
    EvaluationResponse.objects.bulk_create(
        [EvaluationResponse(registration=r, event=event) for r in registrations]
    )
    return event.pk


def _registration_ids(event_id):
    from courses.models import Registration

    # As the bulk job holds them (IssueJob.registration_ids).
    return list(
        Registration.objects.filter(event_id=event_id).order_by("pk").values_list("pk", flat=True)
    )


def _event(event_id):
    """The event with its issue facts, read once for the job (as run_issue_job reads it)."""
    from certification import services
    from courses.models import EventPage

    return services.event_with_issue_facts(EventPage.objects.get(pk=event_id))


def _attendees(event_id):
    """(event, each attendee's fresh registration with its facts, in turn) as the job reads
    them (certification.services.issuing.run_issue_job)."""
    from certification.services.issue_facts import registrations_with_issue_facts

    event = _event(event_id)
    waiting = registrations_with_issue_facts(event, _registration_ids(event_id))
    return event, (registration for _, registration in waiting)


def _issue(attendees, sponsor, event):
    """The job's turn for one attendee: their facts (a chunk's read when it is the first of
    it), then the issue."""
    from certification import services

    registration = next(attendees)
    certificate = services.issue_certificate(
        registration, sponsor=sponsor, event=event, facts_read=True
    )
    if certificate is None or not certificate.pdf_path:
        raise RuntimeError(f"no certificate for {registration.attendee_name}")
    return certificate


def interleaved(event_id):
    """Alternate one floor page and one certificate; each round's ratio, and their median."""
    setup_django()
    from certification.models import CESponsor
    from certification.services.issue_facts import FACTS_CHUNK
    from tests.perf.floors_documents import SimplePage

    floor = SimplePage()
    sponsor = CESponsor.current()
    event, attendees = _attendees(event_id)
    rounds = []
    with emails_left_to_the_worker():
        # Warm both sides once (fonts, templates, the first query plans); not measured.
        floor.render()
        _issue(attendees, sponsor, event)
        for _ in range(ROUNDS):
            floor_seconds = issue_seconds = 0.0
            for _ in range(FACTS_CHUNK):
                started = time.perf_counter()
                floor.render()
                floor_seconds += time.perf_counter() - started
                started = time.perf_counter()
                _issue(attendees, sponsor, event)
                issue_seconds += time.perf_counter() - started
            rounds.append(
                {
                    "floor_ms": round(1000 * floor_seconds / FACTS_CHUNK, 1),
                    "certificate_ms": round(1000 * issue_seconds / FACTS_CHUNK, 1),
                    "ratio": round(floor_seconds / issue_seconds, 3),
                }
            )
    return rounds


def issue_all(event_id):
    """Issue every attendee's certificate the way the bulk job does; return certs per second."""
    setup_django()
    from certification.models import CESponsor

    sponsor = CESponsor.current()
    with emails_left_to_the_worker():
        started = time.perf_counter()
        event, attendees = _attendees(event_id)
        count = 0
        for _ in _registration_ids(event_id):
            _issue(attendees, sponsor, event)
            count += 1
        elapsed = time.perf_counter() - started
    return {
        "n": count,
        "certs_per_s": round(count / elapsed, 2),
        "emails": _emails_promised(event_id),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run(step, *args):
    """Run one step in a fresh process and return the JSON it prints."""
    code = (
        "import json; from tests.perf import bench_certificates as b; "
        f"print(json.dumps(b.{step}(*{args!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    prepare_database()
    setup_django()
    from certification.services.issue_facts import FACTS_CHUNK

    started = time.perf_counter()
    latin_event = _run("prepare", ROUNDS * FACTS_CHUNK + 1, True)
    rounds = _run("interleaved", latin_event)
    small = _run("issue_all", _run("prepare", 100))
    large = _run("issue_all", _run("prepare", LARGE_N))
    growth = round(large["peak_rss_mb"] - small["peak_rss_mb"], 1)
    ratio = statistics.median(r["ratio"] for r in rounds)
    result = {
        "bench": "certificates",
        "vs_simple_page": ratio,
        "vs_simple_page_target": 0.5,
        "rounds": rounds,
        "certs_per_s": large["certs_per_s"],
        "n": large["n"],
        "peak_rss_mb_n100": small["peak_rss_mb"],
        f"peak_rss_mb_n{LARGE_N}": large["peak_rss_mb"],
        "rss_growth_mb": growth,
        "rss_growth_target_mb": 64,
        "emails_promised": large["emails"],
        "within_targets": ratio >= 0.5 and growth <= 64,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
