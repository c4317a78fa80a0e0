"""The certificates benchmark: issuing N certificates end to end against WeasyPrint's floor.

End to end means what a CE administrator's bulk issue does per attendee: eligibility from the
attendance rows, the database rows and audit record, the PDF render, storing it with its
SHA-256, and the email queued. The floor renders the same N certificates as one N-page
document (one font subsetting pass, no database): the best WeasyPrint can do here.

Each part runs in its own process so its peak memory is its own; issuing is also run for
N=100 to show that memory stays flat as N grows.

Prints one JSON line: {"bench": "certificates", "n", "certs_per_s", "floor_pages_per_s",
"ratio", "peak_rss_mb", "peak_rss_mb_n100"}.
"""

import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

SETTINGS = "tests.perf.settings"
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
N = int(os.environ.get("BENCH_CERTIFICATES", "1000"))
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


def _setup_django():
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()


def _peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def prepare(n):
    """An event with n confirmed attendees who attended everything and gave an evaluation."""
    _setup_django()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from certification.factories import make_body, make_event, make_offering, make_sponsor
    from certification.models import EvaluationResponse
    from courses.models import (
        AttendanceSource,
        Booking,
        BookingStatus,
        Registration,
        RegistrationStatus,
        SessionAttendance,
    )

    make_sponsor()
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
                attendee_name=SCRIPTS[i % len(SCRIPTS)] + f" {i}",
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


def issue_all(event_id):
    """Issue every attendee's certificate the way the bulk job does; return certs per second."""
    _setup_django()
    from django.core import mail

    from certification import services
    from certification.models import CESponsor
    from courses.models import Registration

    sponsor = CESponsor.current()
    registrations = list(Registration.objects.filter(event_id=event_id).order_by("pk"))
    mail.outbox = []
    started = time.perf_counter()
    for registration in registrations:
        services.issue_certificate(registration, sponsor=sponsor)
    elapsed = time.perf_counter() - started
    return {
        "n": len(registrations),
        "certs_per_s": round(len(registrations) / elapsed, 2),
        "emails": len(getattr(mail, "outbox", [])),
        "peak_rss_mb": _peak_rss_mb(),
    }


def floor(event_id):
    """WeasyPrint alone: the same certificates rendered as one document."""
    _setup_django()
    from certification import services
    from certification.models import Certificate, CESponsor
    from cms import pdf

    sponsor = CESponsor.current()
    certificates = list(Certificate.objects.filter(event_id=event_id).order_by("pk"))
    contexts = [services.certificate_context(c, sponsor=sponsor) for c in certificates]
    pdf.render_pdf(services.CERTIFICATE_TEMPLATE, contexts[0])  # warm the font configuration
    started = time.perf_counter()
    data = pdf.render_combined_pdf(services.CERTIFICATE_TEMPLATE, contexts)
    elapsed = time.perf_counter() - started
    return {
        "pages": len(certificates),
        "floor_pages_per_s": round(len(certificates) / elapsed, 2),
        "bytes": len(data),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run(step, *args):
    """Run one step in a fresh process and return the JSON it prints."""
    code = (
        "import json, sys; from tests.perf import bench_certificates as b; "
        f"print(json.dumps(b.{step}(*{args!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    (PROJECT_ROOT / ".bench" / "static").mkdir(parents=True, exist_ok=True)
    if os.environ.get("DATABASE_URL"):
        subprocess.run([sys.executable, ".ci/ensure_database.py"], cwd=PROJECT_ROOT, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    small_event = _run("prepare", 100)
    small = _run("issue_all", small_event)
    event_id = _run("prepare", N)
    issued = _run("issue_all", event_id)
    floor_result = _run("floor", event_id)
    print(
        json.dumps(
            {
                "bench": "certificates",
                "n": issued["n"],
                "certs_per_s": issued["certs_per_s"],
                "floor_pages_per_s": floor_result["floor_pages_per_s"],
                "ratio": round(issued["certs_per_s"] / floor_result["floor_pages_per_s"], 3),
                "peak_rss_mb": issued["peak_rss_mb"],
                "peak_rss_mb_n100": small["peak_rss_mb"],
                "emails_queued": issued["emails"],
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
