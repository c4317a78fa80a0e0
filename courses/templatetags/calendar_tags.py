"""`{% calendar_links event as calendar %}`: each session's local times and its Google and
Outlook links, for the "Add to calendar" block."""

from django import template

from courses.ics import calendar_links as session_calendar_links

register = template.Library()


@register.simple_tag
def calendar_links(event):
    return session_calendar_links(event)
