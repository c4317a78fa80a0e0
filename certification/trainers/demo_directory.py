"""Demo certified trainers who opted in to the public directory, so the directory a newcomer
opens is not empty. Fictional people (example.org addresses, no password), certified before
the site existed: each requirement is recorded as confirmed by staff. Running it again
changes nothing, and a listing someone changed since is left as it is."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cms import links
from cms.dates import add_months

from .credential_pdf import render_credential
from .models import Credential, DirectoryListing, Enrolment, RequirementSignOff, Track

# (legal name, preferred name, email, place, credential number, months since certified)
DEMO_TRAINERS = [
    ("Ana Lucía Pérez", "", "ana.perez@example.org", "Sarasota, Florida, USA", "CT-DEMO-0001", 14),
    ("Søren Ødegård", "", "soren.odegard@example.org", "Bergen, Norway", "CT-DEMO-0002", 8),
    ("Kwame Mensah", "", "kwame.mensah@example.org", "Accra, Ghana", "CT-DEMO-0003", 3),
]

SIGN_OFF_NOTE = "Demo trainer: certified before this site; requirements checked on paper."


def _person(legal_name, preferred_name, email):
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, legal_name=legal_name, preferred_name=preferred_name)
        user.set_unusable_password()
        user.save()
    return user


def _credential(enrolment, track, number, issued_at):
    credential = Credential.objects.filter(number=number).first()
    if credential is not None or enrolment.credentials.filter(status="active").exists():
        return credential
    credential = Credential(
        enrolment=enrolment,
        number=number,
        holder_name=enrolment.candidate.legal_name,
        title=track.credential_title,
        issued_at=issued_at,
        expires_at=add_months(issued_at, track.credential_valid_months)
        if track.credential_valid_months
        else None,
    )
    credential.pdf_name, credential.pdf_sha256 = render_credential(credential)
    credential.save()
    return credential


@transaction.atomic
def ensure_certified_trainers(stdout, track_slug="certified-trainer"):
    track = Track.objects.filter(slug=track_slug).first()
    if track is None:
        return []
    now = timezone.now()
    credentials = []
    for legal_name, preferred_name, email, place, number, months in DEMO_TRAINERS:
        person = _person(legal_name, preferred_name, email)
        issued_at = now - timedelta(days=30 * months)
        enrolment, _ = Enrolment.objects.get_or_create(
            track=track,
            candidate=person,
            defaults={
                "status": Enrolment.Status.CERTIFIED,
                "enrolled_at": issued_at - timedelta(days=200),
            },
        )
        for requirement in track.requirements.all():
            RequirementSignOff.objects.get_or_create(
                enrolment=enrolment,
                requirement=requirement,
                defaults={"note": SIGN_OFF_NOTE, "signed_off_at": issued_at},
            )
        credential = _credential(enrolment, track, number, issued_at)
        if credential is not None and enrolment.status != Enrolment.Status.CERTIFIED:
            enrolment.status = Enrolment.Status.CERTIFIED
            enrolment.save(update_fields=["status"])
        DirectoryListing.objects.get_or_create(
            person=person,
            defaults={"listed": True, "display_name": person.legal_name, "place": place},
        )
        credentials.append(credential)
    stdout.write(
        f"  Directory: {len(DEMO_TRAINERS)} certified trainers listed at "
        f"{links.absolute_reverse('trainers:directory')}"
    )
    return credentials
