"""The attendee's professional licenses, and which of them a registration's CE is for.

A license typed at registration is kept on the attendee's profile once the seat is confirmed
and bound to their account (their own seat, or a seat bought for them that they claimed), and
is chosen for that registration's CE: see `keep_registration_license`. A seat bought for
someone without an account keeps the typed license on the registration only (it is printed
from there) until that person claims the seat.
"""

import logging
import re

from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from cms import audit
from courses.license_formats import license_formats, normalise_license_number
from courses.models import RegistrationStatus

from ..models import License, RegistrationLicense
from .common import CEError

log = logging.getLogger(__name__)

CHOSEN = "certification.registration.licenses_chosen"
# The note on the audit record when the license typed at registration was chosen for it.
CHOSEN_AUTOMATICALLY = "The license typed at registration"


def _chosen_links():
    """Chosen licenses with their license, in the order a certificate prints them."""
    return RegistrationLicense.objects.select_related("license").order_by(
        "license__jurisdiction", "pk"
    )


def chosen_licenses():
    """The registrations' chosen licenses, for `prefetch_related` (issuing reads them with
    the registration's other facts)."""
    return Prefetch("ce_licenses", queryset=_chosen_links())


def registration_licenses(registration):
    """The licenses printed on the certificate: those chosen, else the one typed at registration."""
    if "ce_licenses" in getattr(registration, "_prefetched_objects_cache", {}):
        links = registration.ce_licenses.all()  # read with `chosen_licenses`, in its order
    else:
        links = _chosen_links().filter(registration=registration)
    chosen = [
        {
            "profession": link.license.profession,
            "jurisdiction": link.license.jurisdiction,
            "number": link.license.number,
        }
        for link in links
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
        CHOSEN,
        registration,
        actor=actor,
        before={"licenses": before},
        after={"licenses": sorted(license_.pk for license_ in licenses)},
    )


# -- the license typed at registration ---------------------------------------------------------


def matching_license(user_id, jurisdiction, number):
    """The person's license with this jurisdiction and number, however either was typed
    (spaces and letter case do not make a different license), or None."""
    wanted = normalise_license_number(number)
    candidates = License.objects.filter(user_id=user_id, jurisdiction__iexact=jurisdiction.strip())
    return next((c for c in candidates if normalise_license_number(c.number) == wanted), None)


def _profession_for(registration, jurisdiction, number):
    """What the registration says the person is, else what the number's shape says
    (Florida's SW, PY, MH and MT prefixes), else empty (the person can fill it in)."""
    if registration.profession.strip():
        return registration.profession.strip()[:120]
    entry = license_formats().get(jurisdiction)
    for label, pattern in entry[1] if entry else ():
        if re.fullmatch(pattern, number) and not pattern.startswith("\\d"):
            return str(label)[:120]
    return ""


def keep_registration_license(registration):
    """Save the license typed at registration to the attendee's profile, once, and choose it
    for this registration's CE, unless the attendee has chosen its licenses themselves (a
    staff correction of the typed number moves an automatic choice to the corrected one).
    Returns the profile's License, or None when there is nothing to keep (no license typed,
    a seat not yet confirmed, or a seat with no account behind it yet: an agency's seat
    waits for its attendee to claim it).

    Runs inside the caller's transaction (confirmation, a claim, a staff correction); a
    failure here is logged and never undoes the caller's change.
    """
    number = normalise_license_number(registration.license_number)
    jurisdiction = (registration.license_jurisdiction or "").strip()
    if not (
        number
        and jurisdiction
        and registration.attendee_id
        and registration.status == RegistrationStatus.CONFIRMED
    ):
        return None
    try:
        with transaction.atomic():
            return _keep(registration, jurisdiction, number)
    except IntegrityError:
        # Another request saved the same license a moment ago: use that one.
        try:
            with transaction.atomic():
                return _keep(registration, jurisdiction, number)
        except IntegrityError:
            log.exception("Could not keep the license typed for registration %s", registration.pk)
            return None


def _keep(registration, jurisdiction, number):
    license_ = matching_license(registration.attendee_id, jurisdiction, number)
    if license_ is None:
        license_ = License.objects.create(
            user_id=registration.attendee_id,
            profession=_profession_for(registration, jurisdiction, number),
            jurisdiction=jurisdiction,
            number=number,
        )
        audit.record(
            "certification.license.added",
            license_,
            after=_license_snapshot(license_),
            note=f"Typed at registration {registration.public_id}",
        )
    chosen = list(registration.ce_licenses.values_list("license_id", flat=True))
    if license_.pk in chosen or (chosen and not _chosen_automatically(registration)):
        return license_  # the attendee's own choice stands
    # Nothing chosen yet, or only the license typed before staff corrected it: follow it.
    registration.ce_licenses.all().delete()
    RegistrationLicense.objects.create(registration=registration, license=license_)
    audit.record(
        CHOSEN,
        registration,
        before={"licenses": chosen},
        after={"licenses": [license_.pk]},
        note=CHOSEN_AUTOMATICALLY,
    )
    return license_


def _chosen_automatically(registration):
    """True when the registration's licenses were last chosen here, not by the attendee."""
    last = audit.history(registration).filter(action=CHOSEN).order_by("-pk").first()
    return last is not None and last.note == CHOSEN_AUTOMATICALLY
