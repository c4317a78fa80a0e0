"""On-demand courses made from live webinars: one staff action turns a past webinar into a
draft home-study course with its presenters, description, learning objectives, summary and
ticket prices, for staff to add the recording and publish.

The course is an event page of the on-demand format, so it is bought, confirmed, refunded and
certified through the same bookings, orders and certificates as live events. Certification
hears `on_demand_course_created` and sets the course's CE up as home study.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from cms.audit import record
from courses.models import EventFormat, EventPage, ParticipantBenefit, TicketType
from courses.signals import on_demand_course_created

from .errors import RegistrationError

# Seats are no limit for a recording; staff may lower it.
ON_DEMAND_CAPACITY = 10000
TICKET_FIELDS = ("name", "description", "price", "member_price", "members_only", "max_per_order")


def can_copy_to_on_demand(event, now=None):
    """Only a live webinar that has taken place becomes an on-demand course."""
    now = now or timezone.now()
    return event.format == EventFormat.WEBINAR and bool(event.ends_at and event.ends_at <= now)


def on_demand_course_from(webinar, *, actor, now=None):
    """A draft on-demand course beside `webinar`, copying what describes it; returns it."""
    now = now or timezone.now()
    webinar = EventPage.objects.get(pk=webinar.pk)
    if not can_copy_to_on_demand(webinar, now):
        raise RegistrationError(
            _("Only a live webinar that has already taken place can become an on-demand course.")
        )
    parent = webinar.get_parent()
    course = EventPage(
        title=_("%(title)s (on demand)") % {"title": webinar.title},
        slug=_free_slug(parent, f"{webinar.slug}-on-demand"),
        format=EventFormat.ON_DEMAND,
        programme=webinar.programme,
        summary=webinar.summary,
        description=webinar.description,
        image=webinar.image,
        time_zone=webinar.time_zone,
        currency=webinar.currency,
        ce_summary=webinar.ce_summary,
        learning_objectives=webinar.learning_objectives,
        capacity=ON_DEMAND_CAPACITY,
        included_membership=webinar.included_membership,
        live=False,
    )
    course.presenters = list(webinar.presenters.all())
    course.benefits = [ParticipantBenefit(text=b.text) for b in webinar.benefits.all()]
    course.ticket_types = [
        TicketType(**{field: getattr(ticket, field) for field in TICKET_FIELDS})
        for ticket in webinar.ticket_types.all()
    ]
    with transaction.atomic():
        parent.add_child(instance=course)
        course.save_revision(user=actor, log_action=True)
        record(
            "courses.event.on_demand_copy",
            course,
            actor=actor,
            after={"from_event": webinar.pk, "title": course.title},
        )
        on_demand_course_created.send(sender=EventPage, webinar=webinar, course=course, actor=actor)
    return course


def _free_slug(parent, wanted):
    slug, number = slugify(wanted)[:240], 1
    taken = set(parent.get_children().values_list("slug", flat=True))
    candidate = slug
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    return candidate
