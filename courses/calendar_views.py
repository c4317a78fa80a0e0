"""An event's calendar file, for the "Add to calendar" links on the site (the confirmation
email attaches the same file)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from cms.access import public
from courses.ics import event_calendar, ics_filename
from courses.models import EventPage


@public
@require_GET
def event_calendar_file(request, event_id):
    """Every session of a published event as an .ics file: public, like the event page (no
    join link or other attendee-only detail is in it)."""
    event = get_object_or_404(EventPage.objects.live().public(), pk=event_id)
    response = HttpResponse(event_calendar(event), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ics_filename(event)}"'
    return response
