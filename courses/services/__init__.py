"""The courses app's public API: every change to bookings, registrations, the waitlist and
member access happens in this package.

Views, the Wagtail admin, Celery and other apps (payments) call the names below; nothing
else writes registration state. Each change is audited with `cms.audit.record`. One module
per concern:

- `holds`: placing a hold (seat checks, prices frozen on each registration)
- `confirmation`: how a hold ends: confirmed, or released as expired or cancelled
- `pricing`: line items and totals of a booking
- `approval`: staff approval of bookings that need it
- `changes`: attendee details, cancellation, transfer
- `invites`: seats bought for others and claimed by them
- `waitlist`: joining, leaving, offers and their expiry
- `staff`: manual registrations and messages to registrants
- `access`: materials and the webinar join link
- `membership`: member-area access granted with a seat
- `paid`: whether a booking's price was paid (`Booking.paid_at`)
- `watching`: on-demand recordings: heartbeats become merged played intervals, the watched share
- `states`: `transition(obj, to)`, the one way a booking or seat changes status, along
  its model's TRANSITIONS table (`BOOKING_TRANSITIONS`, `REGISTRATION_TRANSITIONS` in
  courses.models); any other move raises `cms.states.InvalidTransition`
- `errors`, `common`: the errors the rules raise; what several services share (the booking
  lock: `lock_booking`, through `cms.locking`, so a long wait becomes `Busy`)

Paid, for other apps: `Booking.paid_at` records when a booking's price was settled.
Payments sets it with `record_booking_paid(booking, at=None, actor=None, note="")` once the
money is in (idempotent: the first time stays; audited as "courses.booking.paid") and clears it
with `record_booking_unpaid(booking, ...)` when the payment is refunded in full or never
settles. `confirm_registrations` sets it itself for a free booking (total 0). Certification
reads it (`registration.booking.paid_at` / `Booking.is_paid`) to grant CE credit only when
the CE fee was paid, without importing payments.

While a booking is held, what it costs can change (add-ons ticked or unticked in
`update_attendee_details`, a held seat cancelled): `courses.signals.booking_changed` is sent
with `booking=` inside that transaction, so payments re-syncs the unpaid order from
`booking_line_items`. Once confirmed, a seat's priced add-ons cannot change (refused with a
message to contact the organiser); free ones can.

Celery tasks are defined beside the service they run (`confirmation.expire_holds_task`,
`membership.lapse_memberships_task`, `staff.send_registrant_message`), registered under
their historical `courses.tasks.*` names.
"""

from .access import can_download_material, join_link_for
from .approval import decide_approval
from .changes import (
    booking_details_complete,
    cancel_registration,
    change_refusal,
    transfer_registration,
    update_attendee_details,
)
from .common import ATTENDEE_FIELDS, is_event_staff
from .confirmation import (
    ReleaseOutcome,
    confirm_free_booking,
    confirm_registrations,
    expire_holds,
    register_in_one_step,
    release_registrations,
)
from .errors import (
    ApprovalRequired,
    CancellationClosed,
    InvalidSelection,
    NotAllowed,
    RegistrationClosed,
    RegistrationError,
    SeatsNoLongerAvailable,
    SoldOut,
)
from .holds import check_before_choosing, one_step_ticket, place_hold
from .invites import claim_invited_seat, invite_attendee, registration_for_invitation
from .membership import (
    add_period,
    is_member,
    join_url,
    lapse_memberships,
    member_at,
    revoke_period,
)
from .on_demand import can_copy_to_on_demand, on_demand_course_from
from .paid import record_booking_paid, record_booking_unpaid
from .pricing import booking_line_items, booking_total, check_member_tickets
from .staff import message_registrants, register_manually, registrants_to_message
from .states import can_transition, transition
from .waitlist import get_waitlist_offer, join_waitlist, leave_waitlist
from .watching import (
    WatchingRefused,
    last_watched_at,
    record_heartbeat,
    recordings_with_progress,
    share_first_reached_at,
    watch_refusal,
    watched_percent,
    watched_share,
)

__all__ = [
    # errors
    "ApprovalRequired",
    "CancellationClosed",
    "InvalidSelection",
    "NotAllowed",
    "RegistrationClosed",
    "RegistrationError",
    "SeatsNoLongerAvailable",
    "SoldOut",
    # common
    "ATTENDEE_FIELDS",
    "is_event_staff",
    # holds
    "check_before_choosing",
    "one_step_ticket",
    "place_hold",
    # confirmation
    "ReleaseOutcome",
    "confirm_free_booking",
    "confirm_registrations",
    "expire_holds",
    "register_in_one_step",
    "release_registrations",
    # pricing
    "booking_line_items",
    "check_member_tickets",
    "booking_total",
    # approval
    "decide_approval",
    # changes
    "booking_details_complete",
    "cancel_registration",
    "change_refusal",
    "transfer_registration",
    "update_attendee_details",
    # invites
    "claim_invited_seat",
    "invite_attendee",
    "registration_for_invitation",
    # waitlist
    "get_waitlist_offer",
    "join_waitlist",
    "leave_waitlist",
    # staff
    "message_registrants",
    "register_manually",
    "registrants_to_message",
    # access
    "can_download_material",
    "join_link_for",
    # on-demand courses
    "can_copy_to_on_demand",
    "on_demand_course_from",
    # membership
    "join_url",
    "lapse_memberships",
    "member_at",
    "add_period",
    "is_member",
    "revoke_period",
    # states
    "can_transition",
    "transition",
    # paid
    "record_booking_paid",
    "record_booking_unpaid",
    # watching on-demand recordings
    "WatchingRefused",
    "record_heartbeat",
    "recordings_with_progress",
    "share_first_reached_at",
    "watch_refusal",
    "last_watched_at",
    "watched_percent",
    "watched_share",
]
