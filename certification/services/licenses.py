"""The attendee's professional licenses, and which of them a registration's CE is for."""

from django.db import transaction
from django.utils.translation import gettext as _

from cms import audit

from ..models import License, RegistrationLicense
from .common import CEError


def registration_licenses(registration):
    """The licenses printed on the certificate: those chosen, else the one typed at registration."""
    chosen = [
        {
            "profession": link.license.profession,
            "jurisdiction": link.license.jurisdiction,
            "number": link.license.number,
        }
        for link in registration.ce_licenses.select_related("license").order_by(
            "license__jurisdiction"
        )
    ]
    if chosen:
        return chosen
    if registration.license_number:
        return [
            {
                "profession": registration.profession,
                "jurisdiction": registration.license_jurisdiction,
                "number": registration.license_number,
            }
        ]
    return []


def _license_snapshot(license_):
    return {
        "profession": license_.profession,
        "jurisdiction": license_.jurisdiction,
        "number": license_.number,
        "expires_on": license_.expires_on.isoformat() if license_.expires_on else None,
    }


@transaction.atomic
def save_license(license_, *, actor):
    created = license_.pk is None
    before = {} if created else _license_snapshot(License.objects.get(pk=license_.pk))
    license_.save()
    audit.record(
        "certification.license.added" if created else "certification.license.changed",
        license_,
        actor=actor,
        before=before,
        after=_license_snapshot(license_),
    )
    return license_


@transaction.atomic
def delete_license(license_, *, actor):
    audit.record(
        "certification.license.removed", license_, actor=actor, before=_license_snapshot(license_)
    )
    license_.delete()


@transaction.atomic
def set_registration_licenses(registration, licenses, *, actor):
    """Record which of the attendee's licenses this registration's CE is for."""
    owner_id = registration.attendee_id
    if any(license_.user_id != owner_id for license_ in licenses):
        raise CEError(_("Only your own licenses can be chosen."))
    before = sorted(registration.ce_licenses.values_list("license_id", flat=True))
    registration.ce_licenses.exclude(license__in=licenses).delete()
    for license_ in licenses:
        RegistrationLicense.objects.get_or_create(registration=registration, license=license_)
    audit.record(
        "certification.registration.licenses_chosen",
        registration,
        actor=actor,
        before={"licenses": before},
        after={"licenses": sorted(license_.pk for license_ in licenses)},
    )
