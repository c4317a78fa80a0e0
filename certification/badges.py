"""Portable forms of a certificate: an Open Badges 3.0 credential and a LinkedIn link."""

import hashlib
from urllib.parse import urlencode

from django.conf import settings

from .models import CertificateStatus
from .services import absolute_url

OB3_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def _identity(certificate):
    """The earner as a salted email hash, so the public JSON does not publish the address."""
    email = (
        (
            certificate.attendee.email
            if certificate.attendee_id
            else certificate.registration.attendee_email
        )
        .strip()
        .lower()
    )
    salt = certificate.code
    digest = hashlib.sha256((email + salt).encode("utf-8")).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": f"sha256${digest}",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }


def open_badge(certificate):
    """An OpenBadgeCredential (unsigned) describing the certificate and its credit hours."""
    verify_url = absolute_url(certificate.get_verification_url())
    event_url = certificate.event.get_full_url() or verify_url
    hours = ", ".join(f"{line['hours']} hours {line['short_name']}" for line in certificate.credits)
    credential = {
        "@context": OB3_CONTEXT,
        "id": verify_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"CE certificate: {certificate.program_title}",
        "issuer": {
            "id": settings.SITE_URL + "/",
            "type": ["Profile"],
            "name": certificate.sponsor_name,
            "url": settings.SITE_URL + "/",
        },
        "validFrom": certificate.issued_at.isoformat(),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [_identity(certificate)],
            "creditsEarned": float(certificate.total_hours),
            "achievement": {
                "id": event_url,
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": certificate.program_title,
                "description": (
                    f"Continuing education: {certificate.program_title} "
                    f"({certificate.program_dates}, {certificate.program_format}). {hours}."
                ),
                "criteria": {
                    "narrative": (
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
                "name": f"Certificate {certificate.code}",
                "description": hours,
            }
        ],
        "credentialStatus": {"id": verify_url, "type": "1EdTechRevocationList"},
    }
    if certificate.status == CertificateStatus.REVOKED:
        credential["validUntil"] = certificate.revoked_at.isoformat()
    return credential


def linkedin_add_url(certificate):
    """LinkedIn's add-to-profile link, filled in from the certificate."""
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": f"CE: {certificate.program_title}",
        "organizationName": certificate.sponsor_name,
        "issueYear": certificate.issue_date.year,
        "issueMonth": certificate.issue_date.month,
        "certUrl": absolute_url(certificate.get_verification_url()),
        "certId": certificate.code,
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(params)
