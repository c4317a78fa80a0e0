"""A person's professional licenses, and which of them a registration's CE is for."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class License(models.Model):
    """One professional license held by a person, as printed on their certificates."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="licenses"
    )
    profession = models.CharField(
        max_length=120, help_text=_("For example: LCSW, LMHC, Psychologist.")
    )
    jurisdiction = models.CharField(
        max_length=60, help_text=_("The state or country that issued it, e.g. FL.")
    )
    number = models.CharField(max_length=60)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["jurisdiction", "profession"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "jurisdiction", "number"], name="license_once_per_user"
            )
        ]

    def __str__(self):
        return f"{self.profession}, {self.jurisdiction} #{self.number}"

    @property
    def is_expired(self):
        return bool(self.expires_on and self.expires_on < timezone.localdate())


class RegistrationLicense(models.Model):
    """The license(s) a registration's CE credit is for."""

    registration = models.ForeignKey(
        "courses.Registration", on_delete=models.CASCADE, related_name="ce_licenses"
    )
    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="registrations")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "license"], name="registration_license_once"
            )
        ]

    def __str__(self):
        return _("%(license)s for %(registration)s") % {
            "license": self.license,
            "registration": self.registration,
        }
