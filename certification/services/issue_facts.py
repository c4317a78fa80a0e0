"""What issuing a certificate reads: the event's facts (once for a bulk job) and each
registration's own (afresh for each certificate), in a number of queries that does not grow
with the schedule; and whether the registration already has a current certificate or a
blocking revocation."""

from django.db.models import Exists, OuterRef, Prefetch, Q

from courses.models import EventPage, EventSession, Registration

from ..models import CEOffering, Certificate, CertificateStatus
from .licenses import chosen_licenses


def _event_facts(prefix=""):
    """What issuing reads of the event (under `prefix`, the path to it): the schedule with its
    presenters (for the attendance, the program dates and the presenters), the CE offerings
    and the add-ons (a seat's own add-on lines are read only where CE is sold). New objects
    each time: Django may write a prefix into a Prefetch it is given."""
    return [
        f"{prefix}add_ons",
        f"{prefix}presenters",
        Prefetch(f"{prefix}sessions", queryset=EventSession.objects.select_related("presenter")),
        Prefetch(
            f"{prefix}ce_offerings",
            queryset=CEOffering.objects.select_related("body").order_by("body__short_name"),
        ),
    ]


def event_with_issue_facts(event):
    """The event with all that issuing reads of it, in five queries. A bulk job reads it once
    for all its attendees and hands it to `issue_certificate`: the program's facts do not
    change between two attendees of one job, and reading them again for each certificate
    cost a quarter of its time. Each attendee's own facts are still read afresh."""
    return (
        EventPage.objects.select_related("ce_settings")
        .prefetch_related(*_event_facts())
        .get(pk=event.pk)
    )


def with_issue_facts(registration, event=None):
    """A fresh copy of `registration` with all that issuing reads, in seven queries whatever
    the number of sessions (three when `event` comes from `event_with_issue_facts`), and one
    more when it has a current certificate or a blocking revocation: the schedule is read once
    (with its presenters) for the attendance, the program dates and the presenters, and the
    CE settings once for the credit and the format. A copy, so the caller's object keeps no
    facts that could go stale."""
    if registration.pk is None:
        return registration
    shared_event = event is not None and event.pk == registration.event_id
    own = _own_facts(Registration.objects.filter(pk=registration.pk))
    if not shared_event:
        own = own.select_related("event", "event__ce_settings")
        own = own.prefetch_related(*_event_facts("event__"))
    fresh = own.first()
    if fresh is None:
        return registration
    if shared_event:
        fresh.event = event
    read_certificates(fresh)
    return fresh


# A bulk job reads its attendees' own facts this many at a time: three queries for the lot
# instead of three for each. Each certificate is issued within a second or so of its read.
FACTS_CHUNK = 25


def registrations_with_issue_facts(event, registration_ids):
    """(id, fresh registration with its issue facts) for each of `registration_ids` in turn,
    None for an id that is not a registration of `event` (read by `event_with_issue_facts`).

    What a bulk job issues from: the attendees' own facts are read FACTS_CHUNK at a time,
    just before their turn, as `with_issue_facts` reads one. The issue's locked save still
    checks afresh what may change in the meantime and matters (the seat's status, a current
    certificate, a revocation).
    """
    registration_ids = list(registration_ids)
    for start in range(0, len(registration_ids), FACTS_CHUNK):
        chunk = registration_ids[start : start + FACTS_CHUNK]
        read = {r.pk: r for r in _own_facts(event.registrations.filter(pk__in=chunk))}
        for pk in chunk:
            registration = read.get(pk)
            if registration is not None:
                registration.event = event
                read_certificates(registration)
            yield pk, registration


def _own_facts(registrations):
    """What issuing reads of each registration itself: its booking, account, evaluation,
    attendance and chosen licenses, and whether it has certificates to look at."""
    return (
        with_certificates_flag(registrations)
        .select_related("booking", "attendee", "evaluation")
        .prefetch_related("attendances", chosen_licenses())
    )


def _current_or_blocking(registration):
    """Certificates that `current_certificate` or `blocking_revocation` may return."""
    return Certificate.objects.filter(registration=registration).filter(
        Q(status=CertificateStatus.ISSUED)
        | Q(status=CertificateStatus.REVOKED, reinstated_at__isnull=True)
    )


def with_certificates_flag(registrations):
    """`registrations` that say, in the same query, whether each has a certificate that is
    current or a revocation that blocks; most have neither, and are spared reading them."""
    return registrations.annotate(has_certificates=Exists(_current_or_blocking(OuterRef("pk"))))


def read_certificates(registration):
    """The registration's current certificate and blocking revocation, in one query (none
    when it was read with `with_certificates_flag` and has neither), where
    `current_certificate` and `blocking_revocation` look for them first."""
    # The event page and the staff member are not joined: only a revocation's label reads
    # them, which is rare, and the page's columns cost more than the rest of the query.
    flagged = getattr(registration, "has_certificates", True)
    rows = list(_current_or_blocking(registration)) if flagged else []
    issued = [c for c in rows if c.status == CertificateStatus.ISSUED]
    revoked = [c for c in rows if c.status == CertificateStatus.REVOKED]
    # The orders those two functions read in.
    issued.sort(key=lambda c: c.issued_at, reverse=True)
    revoked.sort(
        key=lambda c: (c.revoked_at is None, c.revoked_at or c.issued_at, c.pk), reverse=True
    )
    registration.issued_certificates = issued
    registration.blocking_revocations = revoked
