"""The public directory of certified trainers, and each trainer's opt-in listing."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit

from ..models import Credential, DirectoryListing
from .common import CertificationError, _snapshot


@transaction.atomic
def update_listing(person, *, listed, display_name, place):
    if (
        listed
        and not Credential.objects.filter(
            enrolment__candidate=person, status=Credential.Status.ACTIVE
        ).exists()
    ):
        raise CertificationError(_("The directory lists certified trainers only."))
    listing, _created = DirectoryListing.objects.get_or_create(
        person=person, defaults={"display_name": person.display_name}
    )
    before = _snapshot(listing, "listed", "display_name", "place")
    listing.listed = bool(listed)
    listing.display_name = (display_name or "").strip()[:200] or person.display_name
    listing.place = (place or "").strip()[:200]
    listing.save()
    audit.record(
        "trainers.directory.updated",
        listing,
        actor=person,
        before=before,
        after=_snapshot(listing, "listed", "display_name", "place"),
    )
    return listing


def directory_entries(query=""):
    """Listed trainers with a current credential, searchable by name, place or credential."""
    now = timezone.now()
    credentials = (
        Credential.objects.filter(
            status=Credential.Status.ACTIVE,
            enrolment__candidate__trainer_listing__listed=True,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("enrolment__candidate__trainer_listing", "enrolment__track")
        .order_by("enrolment__candidate__trainer_listing__display_name", "issued_at")
    )
    query = (query or "").strip()
    if query:
        credentials = credentials.filter(
            Q(enrolment__candidate__trainer_listing__display_name__icontains=query)
            | Q(enrolment__candidate__trainer_listing__place__icontains=query)
            | Q(title__icontains=query)
        )
    return credentials
