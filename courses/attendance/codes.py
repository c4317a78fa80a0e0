"""Check-in passes and codes: the signed token in an attendee's QR pass, and the code a
presenter shows so attendees check themselves in."""

import re
import secrets
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms import audit
from courses.models import (
    AttendanceSource,
    Registration,
    RegistrationStatus,
    SessionCheckInCode,
)

from .recording import AttendanceError, check_in

CHECK_IN_TOKEN_SALT = "courses.attendance.check-in-pass"  # noqa: S105 - a salt, not a secret
# Attendees may check themselves in from this long before a session starts until it ends.
SELF_CHECK_IN_OPENS_BEFORE = timedelta(minutes=30)
SELF_CHECK_IN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes


def check_in_token(registration):
    """The signed token in the attendee's check-in QR code; it names only the registration."""
    return signing.dumps(str(registration.public_id), salt=CHECK_IN_TOKEN_SALT, compress=True)


def registration_for_token(token):
    try:
        public_id = signing.loads(token, salt=CHECK_IN_TOKEN_SALT)
    except signing.BadSignature as error:
        raise AttendanceError(
            _("This check-in code is not valid. Search for the attendee by name instead.")
        ) from error
    registration = Registration.objects.filter(public_id=public_id).select_related("event").first()
    if registration is None:
        raise AttendanceError(_("No registration matches this check-in code."))
    return registration


def new_self_check_in_code():
    return "".join(secrets.choice(SELF_CHECK_IN_CODE_ALPHABET) for _position in range(6))


def normalise_code(code):
    return re.sub(r"[^A-Z0-9]", "", (code or "").upper())


def session_code(session, *, actor=None):
    """The code the presenter shows for self check-in; made on first use."""
    existing = SessionCheckInCode.objects.filter(session=session).first()
    if existing:
        return existing
    with transaction.atomic():
        for _attempt in range(10):
            code = new_self_check_in_code()
            if not SessionCheckInCode.objects.filter(code=code).exists():
                break
        created = SessionCheckInCode.objects.create(session=session, code=code, created_by=actor)
        audit.record("courses.attendance.code_created", created, actor=actor, after={"code": code})
    return created


def self_check_in(user, code, *, now=None):
    """An attendee checks in with the presenter's code; returns (session, registration)."""
    now = now or timezone.now()
    entry = (
        SessionCheckInCode.objects.filter(code=normalise_code(code))
        .select_related("session", "session__event")
        .first()
    )
    if entry is None:
        raise AttendanceError(
            _(
                "That code does not match any session. Check the code on the presenter's screen "
                "and try again."
            )
        )
    session = entry.session
    if now < session.start - SELF_CHECK_IN_OPENS_BEFORE or now > session.end:
        local = session.event.local(session.start)
        raise AttendanceError(
            _(
                "Check-in for “%(session)s” is open from 30 minutes before it starts "
                "(%(start)s) until it ends."
            )
            % {"session": session.title, "start": date_format(local, "j F, g:i A")}
        )
    registration = (
        Registration.objects.filter(
            event_id=session.event_id, attendee=user, status=RegistrationStatus.CONFIRMED
        )
        .order_by("pk")
        .first()
    )
    if registration is None:
        raise AttendanceError(
            _(
                "We could not find a confirmed registration for this event in your account. "
                "Ask the staff at the door to check you in."
            )
        )
    attendance, _created = check_in(
        registration, session, actor=user, source=AttendanceSource.SELF_CODE, at=now
    )
    return session, registration
