"""Who is coming: bookings (checkouts), registrations (seats), the waitlist, materials and the
member-area access a registration grants. Only `courses.services` changes their state."""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.storage import private_storage

from .events import EventPage
from .tickets import AddOn, TicketType


def new_token():
    """An unguessable token for emailed links (claim an offer, claim an invited seat)."""
    return secrets.token_urlsafe(32)


class BookingStatus(models.TextChoices):
    HELD = "held", _("Held")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


# The only moves a booking's status may make; `courses.services.transition` refuses any other.
# An expired hold may still be confirmed: a late payment confirms the seats when they are
# still free (payments refunds it otherwise).
BOOKING_TRANSITIONS = {
    BookingStatus.HELD: {BookingStatus.CONFIRMED, BookingStatus.EXPIRED, BookingStatus.CANCELLED},
    BookingStatus.EXPIRED: {BookingStatus.CONFIRMED},
    BookingStatus.CONFIRMED: {BookingStatus.CANCELLED},
    BookingStatus.CANCELLED: set(),
}


class BookingKind(models.TextChoices):
    ONLINE = "online", _("Online registration")
    COMPLIMENTARY = "complimentary", _("Complimentary (staff)")
    SPEAKER = "speaker", _("Speaker (staff)")
    WAITLIST = "waitlist", _("Claimed from the waitlist")


class ApprovalStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("Not required")
    PENDING = "pending", _("Waiting for staff approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Booking(models.Model):
    """One checkout by one purchaser, holding one registration per seat.

    While `held`, its seats count against capacity until `expires_at`; a booking waiting for
    staff approval has no expiry (staff decide within the registration window).
    """

    TRANSITIONS = BOOKING_TRANSITIONS

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(EventPage, on_delete=models.PROTECT, related_name="bookings")
    purchaser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    status = models.CharField(
        max_length=20, choices=BookingStatus.choices, default=BookingStatus.HELD, db_index=True
    )
    kind = models.CharField(max_length=20, choices=BookingKind.choices, default=BookingKind.ONLINE)
    approval_status = models.CharField(
        max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.NOT_REQUIRED
    )
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    # The registration form sends a fresh key each time it is shown, so a double click or a
    # resubmitted form finds the booking the first click made instead of holding more seats.
    idempotency_key = models.CharField(max_length=64, blank=True)
    access_code_used = models.CharField(max_length=60, blank=True)
    staff_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # When the booking's price was settled: set by payments through
    # `courses.services.record_booking_paid`, and at confirmation for a free booking. Read by
    # certification (CE credit needs the CE fee paid) without importing payments.
    paid_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the booking's price was paid; a free booking counts as paid."),
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchaser", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="booking_idempotency_key_unique",
            )
        ]

    def __str__(self):
        return f"Booking {str(self.public_id)[:8]} for {self.event.title}"

    @property
    def is_held(self):
        return self.status == BookingStatus.HELD

    @property
    def is_paid(self):
        return self.paid_at is not None

    def hold_has_expired(self, now=None):
        now = now or timezone.now()
        return self.status == BookingStatus.EXPIRED or (
            self.status == BookingStatus.HELD
            and self.expires_at is not None
            and self.expires_at <= now
        )

    @property
    def is_group(self):
        return self.registrations.count() > 1


class RegistrationStatus(models.TextChoices):
    HELD = "held", _("Held")
    CONFIRMED = "confirmed", _("Confirmed")
    CANCELLED = "cancelled", _("Cancelled")
    TRANSFERRED = "transferred", _("Transferred")
    EXPIRED = "expired", _("Expired")


# The only moves a seat's status may make; `courses.services.transition` refuses any other.
# A transfer ends the seat and confirms a new one for the colleague (created confirmed).
REGISTRATION_TRANSITIONS = {
    RegistrationStatus.HELD: {
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.EXPIRED,
        RegistrationStatus.CANCELLED,
    },
    RegistrationStatus.EXPIRED: {RegistrationStatus.CONFIRMED},
    RegistrationStatus.CONFIRMED: {RegistrationStatus.CANCELLED, RegistrationStatus.TRANSFERRED},
    RegistrationStatus.CANCELLED: set(),
    RegistrationStatus.TRANSFERRED: set(),
}


class Registration(models.Model):
    """One seat at one event for one attendee, with the details a certificate needs."""

    TRANSITIONS = REGISTRATION_TRANSITIONS

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="registrations")
    event = models.ForeignKey(EventPage, on_delete=models.PROTECT, related_name="registrations")
    ticket_type = models.ForeignKey(
        TicketType, on_delete=models.PROTECT, related_name="registrations"
    )
    attendee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registrations",
        help_text=_("Empty until an invited attendee claims the seat."),
    )
    attendee_name = models.CharField(
        _("legal name"), max_length=200, help_text=_("Exactly as it should appear on certificates.")
    )
    attendee_email = models.EmailField(_("email"))
    profession = models.CharField(max_length=120, blank=True)
    license_number = models.CharField(max_length=60, blank=True)
    license_jurisdiction = models.CharField(max_length=60, blank=True)
    wants_ce = models.BooleanField(default=False)
    accessibility_needs = models.TextField(blank=True)
    dietary_needs = models.TextField(blank=True)
    answers = models.JSONField(
        default=dict, blank=True, help_text=_("Answers to the event's questions, by question id.")
    )
    status = models.CharField(
        max_length=20,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.HELD,
        db_index=True,
    )
    unit_price = models.PositiveIntegerField(help_text=_("Minor units, frozen at hold time."))
    add_ons = models.ManyToManyField(
        AddOn, through="RegistrationAddOn", blank=True, related_name="registrations"
    )
    # Group bookings: the coordinator can invite each attendee to claim the seat themselves.
    invitation_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    invited_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    transferred_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="transferred_from"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    # Registrations are bookkeeping, not content that "uses" the event page: indexing each one
    # cost every seat hold four more statements inside the capacity lock, and would list
    # every attendee under the page's "Usage" in the admin.
    wagtail_reference_index_ignore = True

    class Meta:
        ordering = ["event", "attendee_name"]
        indexes = [models.Index(fields=["event", "status"])]
        # Staff capabilities (cms.access.Perm); roles are groups that hold them.
        permissions = [
            ("check_in_attendees", _("Can check attendees in and record attendance")),
            (
                "manage_registrations",
                _("Can manage registrations, waitlists and event materials"),
            ),
        ]

    def __str__(self):
        return f"{self.attendee_name} – {self.event.title}"

    @property
    def is_confirmed(self):
        return self.status == RegistrationStatus.CONFIRMED

    @property
    def awaiting_claim(self):
        return bool(self.invitation_token) and self.attendee_id is None

    def add_on_total(self):
        return sum(line.unit_price for line in self.add_on_lines.all())


class RegistrationAddOn(models.Model):
    """An add-on chosen for one registration, its price frozen at hold time."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="add_on_lines"
    )
    add_on = models.ForeignKey(AddOn, on_delete=models.PROTECT, related_name="+")
    unit_price = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "add_on"], name="registration_add_on_once"
            )
        ]

    def __str__(self):
        return f"{self.add_on.name} for {self.registration.attendee_name}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    OFFERED = "offered", _("Seat offered")
    CLAIMED = "claimed", _("Claimed")
    EXPIRED = "expired", _("Offer expired")
    CANCELLED = "cancelled", _("Left the waitlist")


class WaitlistEntry(models.Model):
    """A person waiting for a seat at a full event; offers go out first come, first served.

    An offered seat is held for the person (it counts against capacity) until the offer expires.
    """

    event = models.ForeignKey(EventPage, on_delete=models.CASCADE, related_name="waitlist")
    ticket_type = models.ForeignKey(
        TicketType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    status = models.CharField(
        max_length=20,
        choices=WaitlistStatus.choices,
        default=WaitlistStatus.WAITING,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    claim_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    booking = models.ForeignKey(
        Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = _("waitlist entries")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=Q(status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]),
                name="waitlist_one_active_entry_per_user",
            )
        ]

    def __str__(self):
        return f"{self.user} waiting for {self.event.title}"

    def offer_is_open(self, now=None):
        now = now or timezone.now()
        return (
            self.status == WaitlistStatus.OFFERED
            and self.offer_expires_at is not None
            and self.offer_expires_at > now
        )


class MaterialKind(models.TextChoices):
    SLIDES = "slides", _("Slides")
    MANUAL = "manual", _("Manual")
    HANDOUT = "handout", _("Handout")
    RECORDING = "recording", _("Recording")
    OTHER = "other", _("Other")


def material_upload_to(instance, filename):
    return f"courses/materials/{instance.event_id}/{uuid.uuid4().hex}/{filename}"


class Material(models.Model):
    """A document for an event's confirmed registrants, stored outside the web root."""

    event = models.ForeignKey(EventPage, on_delete=models.CASCADE, related_name="materials")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=MaterialKind.choices, default=MaterialKind.OTHER)
    file = models.FileField(upload_to=material_upload_to, storage=private_storage, max_length=500)
    available_from = models.DateTimeField(
        null=True, blank=True, help_text=_("Leave empty to release it at once.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event", "title"]

    def __str__(self):
        return self.title

    @property
    def filename(self):
        return self.file.name.rsplit("/", 1)[-1]
