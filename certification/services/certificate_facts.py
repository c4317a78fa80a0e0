"""The facts a CE certificate prints, read from the registration and its event: the
program's dates, format and presenters, the credit lines with each body's statement, the
completion date of a home-study program, the sponsor's signature and the verification QR
code."""

from django.utils import timezone
from django.utils.translation import gettext as _

from cms import pdf
from cms.dates import date_range
from courses import services as courses_services

from ..credits import event_offerings, home_study_progress, is_recorded


def program_dates(event):
    sessions = list(event.sessions.all())
    if not sessions:
        # An on-demand course has no dates of its own: it is watched whenever one chooses
        # (the certificate's completion date says when it was completed).
        return _("Self-paced")
    first = event.local(min(s.start for s in sessions)).date()
    last = event.local(max(s.end for s in sessions)).date()
    return date_range(first, last)  # "4–6 March 2026", the site's one long style


def home_study_completed_on(registration):
    """A home-study program is completed on the day its last condition was met, in the
    program's zone: the post-test passed, the evaluation submitted, and the share of the
    recordings its bodies ask for first reached (watching more afterwards moves nothing)."""
    event = registration.event
    days = [home_study_progress(registration).passed_on]
    evaluation = getattr(registration, "evaluation", None)
    if evaluation is not None:
        days.append(event.local(evaluation.submitted_at).date())
    watched = _watching_done_at(registration)
    if watched is not None:
        days.append(event.local(watched).date())
    days = [day for day in days if day]
    return max(days) if days else timezone.localtime(timezone.now(), event.zone).date()


def _watching_done_at(registration):
    """When the largest share of the recordings that a body of the program asks for was first
    reached, of the shares reached (a body asking for more than was watched gives no credit,
    so its share is not a condition of this certificate); None when no body asks for one."""
    required = sorted(
        {
            offering.body.home_study_watched_percent
            for offering in event_offerings(registration.event)
            if offering.body.home_study_watched_percent
        },
        reverse=True,
    )
    for percent in required:
        reached = courses_services.share_first_reached_at(registration, percent)
        if reached is not None:
            return reached
    return None


def program_format(event):
    if is_recorded(event):
        return _("Home study (recorded program)")
    if event.is_online:
        return _("Live interactive webinar")
    place = ", ".join(
        part for part in [event.venue_name, (event.venue_address or "").replace("\n", ", ")] if part
    )
    return _("In person: %(place)s") % {"place": place} if place else _("In person")


def credit_lines(results, *, home_study=False):
    return [
        {
            "body": r.body.name,
            "short_name": r.body.short_name,
            "hours": str(r.hours),
            "unit": r.unit,
            "minutes_per_credit": r.body.minutes_per_credit,
            # Why this body gave less than the program's full credit, in words ("" if full).
            "reason": "" if r.full else r.reason,
            "provider_number": r.body.provider_number,
            # A home-study program prints the body's statement for self-paced programs.
            "statement": (home_study and r.offering.home_study_statement)
            or r.body.approval_statement,
            "course_number": r.offering.course_number,
            "body_id": r.body.pk,
            "offering_id": r.offering.pk,
            "sample": r.body.is_sample_data,
        }
        for r in results
    ]


# The signature as printed (0.55 in tall): read, scaled and encoded once per file, not once
# per certificate. Keyed on the stored file's name, which changes when a new one is uploaded.
SIGNATURE_HEIGHT_PX = 110
_signatures = {}


def signature_data_uri(sponsor):
    if not sponsor or not sponsor.signature:
        return ""
    name = sponsor.signature.name
    if name not in _signatures:
        with sponsor.signature.open("rb") as handle:
            data = handle.read()
        _signatures.clear()  # one sponsor signs at a time; keep no stale copies
        _signatures[name] = pdf.image_data_uri(*pdf.png_at_height(data, name, SIGNATURE_HEIGHT_PX))
    return _signatures[name]


def program_presenters(event):
    """The presenters' names as the certificate prints them: the schedule's presenters in
    session order, then the event's other presenters in page order, each once."""
    names = []
    if "sessions" in getattr(event, "_prefetched_objects_cache", {}):
        # Read with the event (`issue_facts.with_issue_facts`), presenters included.
        sessions = sorted(event.sessions.all(), key=lambda s: (s.start, s.sort_order, s.pk))
    else:
        sessions = event.sessions.select_related("presenter").order_by("start", "sort_order", "pk")
    people = [s.presenter for s in sessions if s.presenter_id]
    people += list(event.presenters.all())
    for person in people:
        name = person.name.strip()
        if name and name not in names:
            names.append(name)
    joined = ", ".join(names)
    return joined if len(joined) <= 500 else joined[:499].rsplit(", ", 1)[0] + "…"
