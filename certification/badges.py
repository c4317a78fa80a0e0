"""Portable forms of a certificate: an Open Badges 3.0 credential and a LinkedIn link."""

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from .models import CertificateStatus
from .services import absolute_url

OB3_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def identity_salt(certificate):
    """The salt of the earner's email hash: stable for a certificate, secret to everyone else.

    It is derived from SECRET_KEY, so it cannot be worked out from anything public (the
    certificate code is printed on the certificate). Only the holder's own copy of the badge
    carries it: with it, and only with it, a verifier can check sha256(email + salt).
    """
    return salted_hmac(
        "certification.badges.identity_salt", certificate.code, algorithm="sha256"
    ).hexdigest()


def _identity(certificate):
    """The earner as a salted email hash (Open Badges 3.0 IdentityObject)."""
    email = (
        (
            certificate.attendee.email
            if certificate.attendee_id
            else certificate.registration.attendee_email
        )
        .strip()
        .lower()
    )
    salt = identity_salt(certificate)
    digest = hashlib.sha256((email + salt).encode("utf-8")).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": f"sha256${digest}",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }


def open_badge(certificate, *, for_holder=False):
    """An OpenBadgeCredential (unsigned) describing the certificate and its credit hours.

    The public copy names no earner: a hash of the email with its salt would let anyone
    confirm a guessed address. The holder's copy (`for_holder`, downloaded while logged in)
    identifies them by the salted email hash and carries the salt, so they can prove it.
    """
    verify_url = absolute_url(certificate.get_verification_url())
    event_url = certificate.event.get_full_url() or verify_url
    hours = ", ".join(
        _("%(hours)s hours %(body)s") % {"hours": line["hours"], "body": line["short_name"]}
        for line in certificate.credits
    )
    credential = {
        "@context": OB3_CONTEXT,
        "id": verify_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": _("CE certificate: %(program)s") % {"program": certificate.program_title},
        "issuer": {
            "id": settings.SITE_URL + "/",
            "type": ["Profile"],
            "name": certificate.sponsor_name,
            "url": settings.SITE_URL + "/",
        },
        "validFrom": certificate.issued_at.isoformat(),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "creditsEarned": float(certificate.total_hours),
            "achievement": {
                "id": event_url,
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": certificate.program_title,
                "description": _(
                    "Continuing education: %(program)s (%(dates)s, %(format)s). %(hours)s."
                )
                % {
                    "program": certificate.program_title,
                    "dates": certificate.program_dates,
                    "format": certificate.program_format,
                    "hours": hours,
                },
                "criteria": {
                    "narrative": _(
                        "Attended the program's sessions as recorded by the sponsor and, where "
                        "the approving body requires it, submitted the program evaluation."
                    )
                },
                "creditsAvailable": float(certificate.total_hours),
            },
        },
        "evidence": [
            {
                "id": verify_url,
                "type": ["Evidence"],
                "name": _("Certificate %(code)s") % {"code": certificate.code},
                "description": hours,
            }
        ],
        "credentialStatus": {"id": verify_url, "type": "1EdTechRevocationList"},
    }
    if for_holder:
        credential["credentialSubject"]["identifier"] = [_identity(certificate)]
    if certificate.status == CertificateStatus.REVOKED:
        credential["validUntil"] = certificate.revoked_at.isoformat()
    return credential


def linkedin_add_url(certificate):
    """LinkedIn's add-to-profile link, filled in from the certificate."""
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": _("CE: %(program)s") % {"program": certificate.program_title},
        "organizationName": certificate.sponsor_name,
        "issueYear": certificate.issue_date.year,
        "issueMonth": certificate.issue_date.month,
        "certUrl": absolute_url(certificate.get_verification_url()),
        "certId": certificate.code,
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(params)
