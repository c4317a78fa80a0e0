"""What several services share: who counts as event staff, the attendee detail fields and
the audit snapshot."""

from cms.access import Perm, can


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
