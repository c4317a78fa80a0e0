"""Status enums for templates, so pages compare with names, never with raw strings:
`{% if booking.status == BookingStatus.HELD %}`."""

from courses.models import ApprovalStatus, BookingStatus, RegistrationStatus, WaitlistStatus


def statuses(request):
    return {
        "ApprovalStatus": ApprovalStatus,
        "BookingStatus": BookingStatus,
        "RegistrationStatus": RegistrationStatus,
        "WaitlistStatus": WaitlistStatus,
    }
