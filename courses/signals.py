"""Signals other apps listen to; courses never imports them.

`registration_cancelled` is sent (after the transaction commits) when an attendee or staff
cancels a confirmed registration through `courses.services.cancel_registration`. Arguments:
`registration` (the cancelled Registration), `actor` (the User who cancelled, or None),
`by_staff` (bool: staff cancelled, so any cut-off did not apply). Payments listens to it to
apply its refund rules. It is not sent by `release_registrations`, which payments itself
calls (after a refund or an expired checkout).

`booking_changed` is sent when what a HELD booking costs may have changed: add-ons ticked or
unticked on one of its seats (`update_attendee_details`), or one of its held seats cancelled
while the rest stay held (`cancel_registration`). Argument: `booking` (the Booking, still
held). It is sent INSIDE the transaction that made the change, after the change is written
and with the booking row locked, so a receiver's writes (payments re-syncing the unpaid
order's lines from `courses.services.booking_line_items`) commit or roll back with it. A
receiver must make no remote call (Stripe) there: it queues that for after commit
(`cms.outbox`). Sent only when the priced content really changed; not for confirmed
bookings (their add-ons cannot change price: see `update_attendee_details`).

`on_demand_course_created` is sent inside the transaction that made a draft on-demand course
from a past live webinar (`courses.services.on_demand_course_from`). Arguments: `webinar`,
`course` (both EventPages) and `actor`. Certification sets the course's CE up as home study.
"""

from django.dispatch import Signal

registration_cancelled = Signal()
booking_changed = Signal()
on_demand_course_created = Signal()
