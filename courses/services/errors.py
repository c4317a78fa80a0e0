"""Errors the registration rules raise: each message tells the person what to do next."""


class RegistrationError(Exception):
    """A request the rules refuse; `message` is shown to the person, `field` names the input."""

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class RegistrationClosed(RegistrationError):
    pass


class InvalidSelection(RegistrationError):
    pass


class SoldOut(RegistrationError):
    """Not enough seats; `waitlist_open` says whether the event takes waitlist entries.

    `seats_left` is the event's count that refused the request (0: the event is full), or
    None when a ticket type's own quota did, so a caller can answer without counting again.
    """

    def __init__(self, message, *, field=None, waitlist_open=True, seats_left=None):
        super().__init__(message, field=field)
        self.waitlist_open = waitlist_open
        self.seats_left = seats_left


class SeatsNoLongerAvailable(RegistrationError):
    """An expired hold could not be confirmed: the seats went to someone else."""


class ApprovalRequired(RegistrationError):
    pass


class CancellationClosed(RegistrationError):
    pass


class NotAllowed(RegistrationError):
    pass
