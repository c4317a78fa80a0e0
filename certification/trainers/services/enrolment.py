"""Candidates enrol in tracks (themselves while a track is open, or by the lead)."""

from django.db import transaction
from django.utils.translation import gettext as _

from cms import audit

from ..models import Enrolment, Track
from .access import is_certification_lead
from .common import CertificationError


@transaction.atomic
def enrol(track, candidate, *, actor=None):
    """Enrol a candidate (by themselves while the track is open, or by the lead at any time)."""
    existing = Enrolment.objects.filter(track=track, candidate=candidate).first()
    if existing:
        if existing.status == Enrolment.Status.WITHDRAWN:
            existing.status = Enrolment.Status.ACTIVE
            existing.save(update_fields=["status"])
            audit.record("trainers.enrolment.reopened", existing, actor=actor)
        return existing
    by_staff = actor is not None and actor.pk != candidate.pk and is_certification_lead(actor)
    if not track.is_open and not by_staff:
        raise CertificationError(
            _("Enrolment in %(track)s is closed at the moment. Write to us if you want to join.")
            % {"track": track.name}
        )
    enrolment = Enrolment.objects.create(track=track, candidate=candidate, enrolled_by=actor)
    audit.record("trainers.enrolment.created", enrolment, actor=actor, after={"track": track.name})
    return enrolment


def tracks_open_for(user):
    enrolled = Enrolment.objects.filter(candidate=user).values_list("track_id", flat=True)
    return Track.objects.filter(is_open=True).exclude(pk__in=list(enrolled))
