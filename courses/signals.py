"""Signals other apps listen to; courses never imports them.

`registration_cancelled` is sent (after the transaction commits) when an attendee or staff
cancels a confirmed registration through `courses.services.cancel_registration`. Arguments:
`registration` (the cancelled Registration), `actor` (the User who cancelled, or None),
`by_staff` (bool: staff cancelled, so any cut-off did not apply). Payments listens to it to
apply its refund rules. It is not sent by `release_registrations`, which payments itself
calls (after a refund or an expired checkout).
"""

from django.dispatch import Signal

registration_cancelled = Signal()
