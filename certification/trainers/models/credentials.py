"""Credentials earned on a track, and certified trainers' opt-in directory listing."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .tracks import Enrolment


class Credential(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUPERSEDED = "superseded", _("Superseded by a renewal")
        REVOKED = "revoked", _("Revoked")

    verification_code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=40, unique=True)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="credentials")
    holder_name = models.CharField(max_length=200, help_text=_("Legal name, exactly as typed."))
    title = models.CharField(max_length=160)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    renews = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="renewed_by"
    )
    pdf_name = models.CharField(max_length=255, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            # A renewal supersedes the credential it renews in the same transaction.
            models.UniqueConstraint(
                fields=["enrolment"],
                condition=models.Q(status="active"),
                name="one_active_credential_per_enrolment",
            )
        ]

    def __str__(self):
        return f"{self.title} – {self.holder_name} ({self.number})"

    @property
    def is_current(self):
        if self.status != self.Status.ACTIVE:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class DirectoryListing(models.Model):
    """A certified trainer's opt-in entry in the public directory."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainer_listing"
    )
    listed = models.BooleanField(default=False)
    display_name = models.CharField(max_length=200)
    place = models.CharField(max_length=200, blank=True, help_text=_("City and country."))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.display_name
