"""What certification does when courses' rows change (courses never imports certification)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from courses.models import Registration

from .services.licenses import keep_registration_license

# A save touching any of these may bind a typed license to an account: confirmation
# (status), a claimed seat (attendee), a staff correction (the license fields).
LICENSE_FIELDS = {"status", "attendee", "license_number", "license_jurisdiction", "profession"}


@receiver(post_save, sender=Registration, dispatch_uid="certification.keep_registration_license")
def keep_license_typed_at_registration(sender, instance, raw=False, update_fields=None, **kwargs):
    """The license typed at registration goes to the attendee's profile, chosen for this CE."""
    if raw or not instance.license_number or not instance.attendee_id:
        return
    if update_fields is not None and not LICENSE_FIELDS.intersection(update_fields):
        return
    keep_registration_license(instance)
