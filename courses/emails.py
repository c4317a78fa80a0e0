"""The emails courses sends. Each is an HTML and a plain-text template under
templates/courses/email/, plus a one-line subject template, sent with
`cms.email.send_templated_email` once the transaction commits and in the event's time zone
(the reader needs the venue's local time).

Links point at the courses-web views by URL name: `courses:my_registrations`,
`courses:booking_summary` (booking public_id), `courses:claim_seat` (invitation token) and
`courses:waitlist_claim` (offer token).
"""

from django.conf import settings

from cms.email import send_templated_email
from cms.links import absolute_page_url, absolute_reverse
from courses.ics import calendar_links, event_calendar, ics_filename
from courses.models import ApprovalStatus


def _event_context(event):
    return {
        "event": event,
        "event_url": absolute_page_url(event) or settings.SITE_URL,
        "sessions": calendar_links(event),
        "starts": event.local(event.starts_at),
        "ends": event.local(event.ends_at),
        "my_registrations_url": absolute_reverse("courses:my_registrations"),
    }


def _ics(event):
    return (ics_filename(event), event_calendar(event), "text/calendar; method=PUBLISH")


def send_registration_confirmation(registration, *, transferred=False):
    """To the attendee: the seat is theirs; details, sessions and the .ics."""
    event = registration.event
    context = {
        **_event_context(event),
        "registration": registration,
        "transferred": transferred,
        "claim_url": absolute_reverse("courses:claim_seat", registration.invitation_token)
        if registration.awaiting_claim
        else "",
    }
    send_templated_email(
        "courses/email/registration_confirmed",
        registration.attendee_email,
        context,
        zone=event.zone,
        attachments=[_ics(event)],
    )


def send_booking_confirmation(booking):
    """To a purchaser who is not one of the attendees (a coordinator): what was booked."""
    context = {
        **_event_context(booking.event),
        "booking": booking,
        "registrations": list(booking.registrations.all()),
        "booking_url": absolute_reverse("courses:booking_summary", booking.public_id),
    }
    send_templated_email(
        "courses/email/booking_confirmed",
        booking.purchaser.email,
        context,
        zone=booking.event.zone,
    )


def send_seat_invitation(registration):
    """To an invited attendee: claim the seat with your own account."""
    context = {
        **_event_context(registration.event),
        "registration": registration,
        "purchaser": registration.booking.purchaser,
        "claim_url": absolute_reverse("courses:claim_seat", registration.invitation_token),
    }
    send_templated_email(
        "courses/email/seat_invitation",
        registration.attendee_email,
        context,
        zone=registration.event.zone,
    )


def send_cancellation(registration):
    context = {**_event_context(registration.event), "registration": registration}
    send_templated_email(
        "courses/email/registration_cancelled",
        registration.attendee_email,
        context,
        zone=registration.event.zone,
    )


def send_transferred_away(registration, successor):
    """To the person whose seat went to a colleague: it is no longer theirs."""
    context = {
        **_event_context(registration.event),
        "registration": registration,
        "successor": successor,
    }
    send_templated_email(
        "courses/email/registration_transferred_away",
        registration.attendee_email,
        context,
        zone=registration.event.zone,
        key=f"courses:transferred-away:{registration.pk}",
    )


def send_waitlist_offer_lapsed(entry, now):
    """To someone who did not claim an offered seat in time: it passed on; they may rejoin."""
    context = {
        **_event_context(entry.event),
        "entry": entry,
        "lapsed_at": entry.event.local(entry.offer_expires_at),
        "can_rejoin": entry.event.registration_is_open(now),
    }
    send_templated_email(
        "courses/email/waitlist_offer_lapsed",
        entry.user.email,
        context,
        zone=entry.event.zone,
        key=f"courses:waitlist-lapsed:{entry.pk}",
    )


def send_waitlist_offer(entry):
    context = {
        **_event_context(entry.event),
        "entry": entry,
        "claim_url": absolute_reverse("courses:waitlist_claim", entry.claim_token),
        "offer_expires": entry.event.local(entry.offer_expires_at),
    }
    send_templated_email(
        "courses/email/waitlist_offer", entry.user.email, context, zone=entry.event.zone
    )


def send_approval_request_received(booking):
    context = {
        **_event_context(booking.event),
        "booking": booking,
        "booking_url": absolute_reverse("courses:booking_summary", booking.public_id),
    }
    send_templated_email(
        "courses/email/approval_pending",
        booking.purchaser.email,
        context,
        zone=booking.event.zone,
    )


def send_approval_decision(booking):
    context = {
        **_event_context(booking.event),
        "booking": booking,
        "approved": booking.approval_status == ApprovalStatus.APPROVED,
        "booking_url": absolute_reverse("courses:booking_summary", booking.public_id),
        "expires": booking.event.local(booking.expires_at) if booking.expires_at else None,
    }
    send_templated_email(
        "courses/email/approval_decision",
        booking.purchaser.email,
        context,
        zone=booking.event.zone,
    )


def send_registrant_message(event, email, name, subject, body):
    context = {**_event_context(event), "name": name, "subject": subject, "body": body}
    send_templated_email("courses/email/registrant_message", email, context, zone=event.zone)
