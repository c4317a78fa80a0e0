"""Calendar files and add-to-calendar links for an event's sessions."""

from datetime import UTC
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vText

from cms.links import absolute_page_url


def _location(event):
    if event.is_online:
        return "Online (live webinar)"
    return ", ".join(
        part for part in [event.venue_name, event.venue_address.replace("\n", ", ")] if part
    )


def event_calendar(event, *, registration=None):
    """An iCalendar document with one VEVENT per session, in the event's own time zone.

    Start and end carry a TZID plus the matching VTIMEZONE block, so calendars show the local
    time of the venue; DTSTAMP is UTC as RFC 5545 requires.
    """
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.WAGTAIL_SITE_NAME}//Events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", event.title)
    stamp = timezone.now().astimezone(UTC)
    url = absolute_page_url(event)
    for session in event.sessions.all():
        entry = Event()
        entry.add("uid", f"session-{session.pk}-{event.pk}@{settings.SITE_URL.split('://')[-1]}")
        entry.add("dtstamp", stamp)
        entry.add("dtstart", event.local(session.start))
        entry.add("dtend", event.local(session.end))
        entry.add("summary", f"{event.title}: {session.title}")
        entry["location"] = vText(_location(event))
        description = [event.summary]
        if session.presenter:
            description.append(f"Presenter: {session.presenter}")
        if url:
            description.append(url)
        entry.add("description", "\n".join(description))
        if url:
            entry.add("url", url)
        calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _utc_stamp(moment):
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_url(event, session):
    query = urlencode(
        {
            "action": "TEMPLATE",
            "text": f"{event.title}: {session.title}",
            "dates": f"{_utc_stamp(session.start)}/{_utc_stamp(session.end)}",
            "details": event.summary,
            "location": _location(event),
            "ctz": event.time_zone,
        }
    )
    return f"https://calendar.google.com/calendar/render?{query}"


def outlook_calendar_url(event, session):
    query = urlencode(
        {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": f"{event.title}: {session.title}",
            "startdt": session.start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "enddt": session.end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "body": event.summary,
            "location": _location(event),
        }
    )
    return f"https://outlook.live.com/calendar/0/deeplink/compose?{query}"


def calendar_links(event):
    """Per session: its local times and the Google / Outlook links (what the email lists)."""
    return [
        {
            "session": session,
            "start": event.local(session.start),
            "end": event.local(session.end),
            "google": google_calendar_url(event, session),
            "outlook": outlook_calendar_url(event, session),
        }
        for session in event.sessions.all()
    ]


def ics_filename(event):
    return f"{event.slug or 'event'}.ics"
