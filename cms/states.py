"""Explicit state machines: a model lists the status moves it allows in a `TRANSITIONS` table
(`{status: {statuses it may move to}}`), and every status change goes through `move`, which
refuses any move the table lacks.

Each app wraps `move` in its own service (`courses.services.transition`,
`payments.services.common.change_status`) to add what that app records with a change: the
time stamps, the audit action names.
"""


class InvalidTransition(Exception):
    """A programming error, not a refusal to show a person: a status move its model's
    `TRANSITIONS` table does not allow (services check the status, under the row lock,
    before moving it)."""


def can_move(obj, to):
    """Whether `obj` may move from its status to `to`."""
    return to in type(obj).TRANSITIONS.get(obj.status, ())


def check_move(obj, to):
    if not can_move(obj, to):
        raise InvalidTransition(
            f"{type(obj).__name__} {obj.pk}: {obj.status} -> {to} is not allowed"
        )


def move(obj, to, *, fields=()):
    """Set `obj`'s status to `to` (or raise InvalidTransition) and save it with `fields`,
    the other fields the caller changed; returns the status it had."""
    check_move(obj, to)
    before = obj.status
    obj.status = to
    update = ["status", *fields]
    if any(field.name == "updated_at" for field in type(obj)._meta.concrete_fields):
        update.append("updated_at")
    obj.save(update_fields=list(dict.fromkeys(update)))
    return before
