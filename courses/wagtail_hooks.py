"""Registers the event staff screens (courses.viewsets) with the Wagtail admin."""

from wagtail import hooks

from courses.viewsets import EventAdminGroup


@hooks.register("register_admin_viewset")
def register_event_admin():
    return EventAdminGroup()
