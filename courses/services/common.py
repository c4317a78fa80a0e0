"""What several services share: who counts as event staff, the attendee detail fields, the
audit snapshot and the booking lock."""

from cms.access import Perm, can
from cms.locking import lock_one
from courses.models import Booking


def is_event_staff(user):
    """Staff who manage registrations, acting with their second factor (cms.access)."""
    return can(user, Perm.MANAGE_REGISTRATIONS)


ATTENDEE_FIELDS = (
    "attendee_name",
    "attendee_email",
    "profession",
    "license_number",
    "license_jurisdiction",
    "wants_ce",
    "accessibility_needs",
    "dietary_needs",
    "answers",
)


def snapshot(obj, fields=("status",)):
    return {name: str(getattr(obj, name)) for name in fields}


def lock_booking(pk):
    """Lock one booking row inside the caller's transaction and return it (event loaded).

    Every change to a booking or its seats takes this lock first, then any seat rows, then
    the capacity rows: one order, so two changes never wait on each other in a cycle. Only
    the booking row is locked (`of`), and FOR NO KEY UPDATE, so rows that merely point at
    it (an order, a new seat) can still be written meanwhile. A wait past the lock timeout
    raises `cms.locking.Busy`.
    """
    return lock_one(Booking.objects.select_related("event"), pk, of=("self",), no_key=True)
