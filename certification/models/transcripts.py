"""A person's CE transcript built by the worker: too many certificates for one request."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TranscriptStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("transcript", "Waiting to start")
    BUILDING = "building", pgettext_lazy("transcript", "Being built")
    READY = "ready", pgettext_lazy("transcript", "Ready")
    FAILED = "failed", pgettext_lazy("transcript", "Could not be built")


class TranscriptJob(models.Model):
    """One transcript PDF asked for by its owner; the file is private to them (and CE staff)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ce_transcripts"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("CE staff who asked for it; they get the link."),
    )
    status = models.CharField(
        max_length=12, choices=TranscriptStatus.choices, default=TranscriptStatus.QUEUED
    )
    certificates = models.PositiveIntegerField(
        _("certificates"), default=0, help_text=_("How many certificates the transcript lists.")
    )
    pdf_path = models.CharField(max_length=255, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("CE transcript")
        verbose_name_plural = _("CE transcripts")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self):
        return _("CE transcript of %(name)s") % {"name": self.owner.legal_name}

    def get_absolute_url(self):
        return reverse("certification:transcript_status", args=[self.public_id])

    def get_download_url(self):
        return reverse("certification:transcript_download", args=[self.public_id])

    @property
    def is_pending(self):
        return self.status in (TranscriptStatus.QUEUED, TranscriptStatus.BUILDING)
