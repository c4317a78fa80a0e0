"""The courses models; each file holds one part of the domain."""

from .attendance import *  # noqa: F403 (attendance models; courses.models.attendance.__all__)
from .events import (
    EventDescriptionBlock,
    EventFormat,
    EventIndexPage,
    EventPage,
    EventSession,
    ParticipantBenefit,
    Presenter,
    Programme,
    validate_time_zone,
)
from .registrations import (
    ApprovalStatus,
    Booking,
    BookingKind,
    BookingStatus,
    Material,
    MaterialKind,
    MembershipGrant,
    Registration,
    RegistrationAddOn,
    RegistrationStatus,
    WaitlistEntry,
    WaitlistStatus,
    new_token,
)
from .tickets import AddOn, QuestionKind, RegistrationQuestion, TicketType

__all__ = [
    "AddOn",
    "ApprovalStatus",
    "Booking",
    "BookingKind",
    "BookingStatus",
    "EventDescriptionBlock",
    "EventFormat",
    "EventIndexPage",
    "EventPage",
    "EventSession",
    "Material",
    "MaterialKind",
    "MembershipGrant",
    "ParticipantBenefit",
    "Presenter",
    "Programme",
    "QuestionKind",
    "Registration",
    "RegistrationAddOn",
    "RegistrationQuestion",
    "RegistrationStatus",
    "TicketType",
    "WaitlistEntry",
    "WaitlistStatus",
    "new_token",
    "validate_time_zone",
]
