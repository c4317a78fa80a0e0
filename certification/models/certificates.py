"""CE certificates: immutable once issued, superseded by a reissue, or revoked with a reason."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..hours import headline_hours

# Crockford's base32 alphabet: no I, L, O, U, so a code read aloud or typed is unambiguous.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_certificate_code():
    """A public certificate id such as CE-7KQ2-M9XD-3F4T (80 random bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "CE-" + "-".join(raw[i : i + 4] for i in range(0, 16, 4))


class CertificateStatus(models.TextChoices):
    ISSUED = "issued", _("Valid")
    SUPERSEDED = "superseded", _("Superseded by a corrected certificate")
    REVOKED = "revoked", _("Revoked")


class Certificate(models.Model):
    """A CE certificate for one registration, with everything it printed kept as issued.

    The printed facts are copied here (not read from the event later) so the verification
    page and transcript show what the PDF says, even after the event page is edited.
    """

    code = models.CharField(max_length=24, unique=True, default=new_certificate_code)
    registration = models.ForeignKey(
        "courses.Registration", on_delete=models.PROTECT, related_name="certificates"
    )
    event = models.ForeignKey(
        "courses.EventPage", on_delete=models.PROTECT, related_name="certificates"
    )
    attendee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ce_certificates",
    )
    status = models.CharField(
        max_length=20,
        choices=CertificateStatus.choices,
        default=CertificateStatus.ISSUED,
        db_index=True,
    )
    attendee_name = models.CharField(max_length=200)
    licenses = models.JSONField(
        default=list, blank=True, help_text=_("[{profession, jurisdiction, number}] as printed.")
    )
    program_title = models.CharField(max_length=300)
    program_dates = models.CharField(max_length=200)
    program_format = models.CharField(max_length=300)
    completed_on = models.DateField(help_text=_("The last day attended, in the event's zone."))
    credits = models.JSONField(
        default=list,
        help_text=_("[{body, short_name, hours, provider_number, statement, course_number}]"),
    )
    total_hours = models.DecimalField(max_digits=6, decimal_places=2)
    sponsor_name = models.CharField(max_length=200)
    issued_at = models.DateTimeField(auto_now_add=True)
    issue_date = models.DateField(help_text=_("The issue date in the event's time zone."))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pdf_path = models.CharField(max_length=500, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    correction_note = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)
    # A revocation blocks the registration from CE until a CE administrator reinstates it.
    reinstated_at = models.DateTimeField(null=True, blank=True)
    reinstated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reinstate_reason = models.TextField(blank=True)
    presenters = models.CharField(
        max_length=500, blank=True, help_text=_("The presenters' names as printed.")
    )
    status_list_index = models.PositiveIntegerField(
        null=True,
        blank=True,
        unique=True,
        help_text=_("This certificate's bit in the published Bitstring Status List."),
    )
    issue_job = models.ForeignKey(
        "IssueJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="certificates",
        help_text=_("The bulk issue that issued this certificate, if one did."),
    )

    class Meta:
        # Staff capabilities (cms.access.Perm); roles are groups that hold them.
        permissions = [
            (
                "issue_certificates",
                "Can issue, reissue and revoke CE certificates and export rosters",
            ),
            ("manage_ce_setup", "Can set up CE sponsors, bodies, offerings and evaluations"),
        ]
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["registration", "status"])]
        constraints = [
            # At most one current certificate per registration: a reissue supersedes the old
            # one in the same transaction, and two issues racing for one attendee (bulk job,
            # auto-issue after the evaluation) cannot both commit. A certificate lists every
            # accrediting body the registration earned credit from, so "per registration" is
            # also "per registration and body".
            models.UniqueConstraint(
                fields=["registration"],
                condition=Q(status=CertificateStatus.ISSUED),
                name="one_current_certificate_per_registration",
            )
        ]

    def __str__(self):
        return f"{self.code} – {self.attendee_name} – {self.program_title}"

    def get_absolute_url(self):
        return reverse("certification:certificate_detail", args=[self.code])

    def get_verification_url(self):
        return reverse("certification:verify", args=[self.code])

    @property
    def headline_hours(self):
        """The one total to show (page, PDF, badge), or None where bodies' figures or units
        differ; `total_hours` is kept only because the column is required."""
        return headline_hours(self.credits)

    @property
    def is_valid(self):
        return self.status == CertificateStatus.ISSUED

    def current_version(self):
        """Follow reissues to the certificate that replaced this one."""
        certificate = self
        seen = set()
        while certificate.status == CertificateStatus.SUPERSEDED and certificate.pk not in seen:
            seen.add(certificate.pk)
            successor = Certificate.objects.filter(supersedes=certificate).first()
            if successor is None:
                break
            certificate = successor
        return certificate


class IssueJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class IssueJob(models.Model):
    """A bulk issue requested by a CE administrator, run by Celery, with its progress."""

    event = models.ForeignKey(
        "courses.EventPage", on_delete=models.CASCADE, related_name="certificate_jobs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    registration_ids = models.JSONField(default=list)
    status = models.CharField(
        max_length=20, choices=IssueJobStatus.choices, default=IssueJobStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return _("Issue job %(id)s for %(event)s") % {"id": self.pk, "event": self.event.title}

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 100
