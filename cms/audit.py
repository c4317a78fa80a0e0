"""The one way to record a state change (who, when, what, before/after)."""

from cms.models import AuditRecord


def _actor(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def record(action, obj, *, actor=None, before=None, after=None, note=""):
    """Write an audit record for `obj`; call it inside the transaction that makes the change.

    `action` is a dotted name such as "courses.registration.confirmed".
    """
    return AuditRecord.objects.create(
        actor=_actor(actor),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:255],
        before=before or {},
        after=after or {},
        note=note,
    )


def history(obj):
    """Every audit record for `obj`, newest first."""
    return AuditRecord.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
