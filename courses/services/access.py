"""Who may see what: materials, the webinar join link."""

from django.utils import timezone

from cms.access import Perm, can
from courses.models import Registration, RegistrationStatus


def has_confirmed_seat(user, event):
    if not user or not user.is_authenticated:
        return False
    return Registration.objects.filter(
        event=event, attendee=user, status=RegistrationStatus.CONFIRMED
    ).exists()


def can_download_material(user, material, now=None):
    """Confirmed registrants (once released) and event/CE staff may download; nobody else."""
    now = now or timezone.now()
    if not user or not user.is_authenticated:
        return False
    if can(user, Perm.MANAGE_REGISTRATIONS, Perm.ISSUE_CERTIFICATES):
        return True
    if material.available_from and now < material.available_from:
        return False
    return has_confirmed_seat(user, material.event)


def join_link_visible(registration, now=None):
    """The webinar link shows to the confirmed attendee from the set time before the start
    until the event ends."""
    now = now or timezone.now()
    event = registration.event
    if registration.status != RegistrationStatus.CONFIRMED or not event.join_url:
        return False
    opens = event.join_link_visible_from
    if opens is None or now < opens:
        return False
    return not (event.ends_at and now > event.ends_at)


def join_link_for(registration, now=None):
    return registration.event.join_url if join_link_visible(registration, now) else ""
