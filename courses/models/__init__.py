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
from .membership import Membership, MembershipPeriod, MembershipPlan, PeriodSource
from .recordings import EventRecording, WatchProgress
from .registrations import (
    BOOKING_TRANSITIONS,
    REGISTRATION_TRANSITIONS,
    ApprovalStatus,
    Booking,
    BookingKind,
    BookingStatus,
    Material,
    MaterialKind,
    Registration,
    RegistrationAddOn,
    RegistrationStatus,
    WaitlistEntry,
    WaitlistStatus,
    new_token,
)
from .tickets import AddOn, QuestionKind, RegistrationQuestion, TicketType

__all__ = [
    "BOOKING_TRANSITIONS",
    "REGISTRATION_TRANSITIONS",
    "AddOn",
    "ApprovalStatus",
    "Booking",
    "BookingKind",
    "BookingStatus",
    "EventDescriptionBlock",
    "EventFormat",
    "EventIndexPage",
    "EventPage",
    "EventRecording",
    "EventSession",
    "Material",
    "MaterialKind",
    "Membership",
    "MembershipPeriod",
    "MembershipPlan",
    "ParticipantBenefit",
    "PeriodSource",
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
    "WatchProgress",
    "new_token",
    "validate_time_zone",
]
