"""Credentials: issued when every requirement is met and the lead confirms; renewed, revoked."""

import logging
import secrets

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cms import audit
from cms.dates import add_months
from cms.email import send_templated_email
from cms.locking import lock_one
from cms.storage import discard_private_file

from ..credential_pdf import render_credential
from ..models import Credential, DirectoryListing, Enrolment
from .access import is_certification_lead
from .common import CertificationError
from .requirements import all_requirements_met

log = logging.getLogger(__name__)


def _credential_number(track):
    prefix = "".join(word[0] for word in track.name.split() if word[:1].isalpha()).upper()[:4]
    return f"{prefix or 'CT'}-{timezone.now():%Y}-{secrets.token_hex(3).upper()}"


def issue_credential(enrolment, *, actor, renews=None):
    """Every requirement met and the lead confirms: the credential and its PDF.

    The PDF is rendered and stored before any lock is taken; a short transaction then locks
    the enrolment (and the credential being renewed), checks again and saves. If that check
    fails (someone issued, renewed or revoked meanwhile), the rendered file is deleted.
    """
    if not is_certification_lead(actor):
        raise CertificationError(_("Only the certification lead can issue a credential."))
    _check_can_issue(enrolment, renews)
    track = enrolment.track
    now = timezone.now()
    credential = Credential(
        enrolment=enrolment,
        number=_credential_number(track),
        holder_name=enrolment.candidate.legal_name or enrolment.candidate.email,
        title=track.credential_title,
        issued_at=now,
        expires_at=add_months(now, track.credential_valid_months)
        if track.credential_valid_months
        else None,
        issued_by=actor,
        renews=renews,
    )
    credential.pdf_name, credential.pdf_sha256 = render_credential(credential)
    try:
        return _save_credential(credential, actor=actor)
    except BaseException:
        discard_private_file(credential.pdf_name, "credential file")
        raise


def _check_can_issue(enrolment, renews):
    if renews is not None:
        if renews.status != Credential.Status.ACTIVE:
            raise CertificationError(_("Only an active credential can be renewed."))
        return
    if not all_requirements_met(enrolment):
        raise CertificationError(_("Not every requirement of this track is met yet."))
    if enrolment.credentials.filter(status=Credential.Status.ACTIVE).exists():
        raise CertificationError(_("This candidate already holds this credential."))


@transaction.atomic
def _save_credential(credential, *, actor):
    enrolment = lock_one(Enrolment, credential.enrolment_id)
    renews = credential.renews
    if renews is not None:
        renews = lock_one(Credential, renews.pk)
    _check_can_issue(enrolment, renews)
    if renews is not None:
        # Superseded first: the database holds one active credential per enrolment.
        renews.status = Credential.Status.SUPERSEDED
        renews.save(update_fields=["status"])
    credential.enrolment = enrolment
    credential.renews = renews
    credential.save()
    enrolment.status = Enrolment.Status.CERTIFIED
    enrolment.save(update_fields=["status"])
    DirectoryListing.objects.get_or_create(
        person=enrolment.candidate,
        defaults={"display_name": enrolment.candidate.display_name},
    )
    audit.record(
        "trainers.credential.renewed" if renews else "trainers.credential.issued",
        credential,
        actor=actor,
        after={"number": credential.number},
    )
    send_templated_email(
        "certification/trainers/email/credential_issued",
        enrolment.candidate.email,
        {"credential": credential, "url": reverse("trainers:dashboard")},
        key=f"trainers.credential-issued:{credential.number}",
    )
    return credential


def renew_credential(credential, *, actor):
    if credential.status != Credential.Status.ACTIVE:
        raise CertificationError(_("Only an active credential can be renewed."))
    return issue_credential(credential.enrolment, actor=actor, renews=credential)


@transaction.atomic
def revoke_credential(credential, *, actor, reason):
    if not is_certification_lead(actor):
        raise CertificationError(_("Only the certification lead can revoke a credential."))
    # The enrolment first, then the credential: the order issuing and renewing lock them in.
    enrolment = lock_one(Enrolment, credential.enrolment_id)
    credential = lock_one(Credential, credential.pk)
    if credential.status == Credential.Status.REVOKED:
        return credential
    credential.status = Credential.Status.REVOKED
    credential.save(update_fields=["status"])
    if not enrolment.credentials.filter(status=Credential.Status.ACTIVE).exists():
        enrolment.status = Enrolment.Status.ACTIVE
        enrolment.save(update_fields=["status"])
    audit.record("trainers.credential.revoked", credential, actor=actor, note=reason)
    return credential
