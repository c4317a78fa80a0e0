"""What was reported to CE Broker: one batch per roster export, one row per licensee in it.

CE Broker cannot edit a posted entry, so the next export leaves out what a batch already holds
unless staff ask for a correction file that includes it again.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CEBrokerBatch(models.Model):
    """One CE Broker roster file as downloaded: for which event and body, by whom, when."""

    event = models.ForeignKey(
        "courses.EventPage", on_delete=models.PROTECT, related_name="ce_broker_batches"
    )
    body = models.ForeignKey(
        "certification.AccreditingBody",
        on_delete=models.PROTECT,
        related_name="ce_broker_batches",
    )
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    exported_at = models.DateTimeField(auto_now_add=True)
    includes_reported = models.BooleanField(
        default=False,
        help_text=_("A correction file: it repeats licensees an earlier batch already reported."),
    )
    xls = models.BinaryField(
        default=b"", editable=False, help_text=_("The file as downloaded, to download again.")
    )

    class Meta:
        ordering = ["-exported_at", "-pk"]
        verbose_name = _("CE Broker batch")
        verbose_name_plural = _("CE Broker batches")

    def __str__(self):
        return _("CE Broker batch %(pk)s – %(body)s") % {"pk": self.pk, "body": self.body_id}


class CEBrokerReportedRow(models.Model):
    """One licensee's row in a batch: the certificate and registration it came from."""

    batch = models.ForeignKey(CEBrokerBatch, on_delete=models.CASCADE, related_name="rows")
    certificate = models.ForeignKey(
        "certification.Certificate", on_delete=models.PROTECT, related_name="ce_broker_rows"
    )
    registration = models.ForeignKey(
        "courses.Registration", on_delete=models.PROTECT, related_name="ce_broker_rows"
    )
    license_number = models.CharField(max_length=60)
    hours = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["batch", "license_number"]
        verbose_name = _("CE Broker reported row")
        indexes = [models.Index(fields=["registration", "batch"])]

    def __str__(self):
        return self.license_number
