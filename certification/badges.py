"""Portable forms of a certificate: a signed Open Badges 3.0 credential and a LinkedIn link."""

import hashlib
import uuid
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from cms.links import absolute_page_url, absolute_url

from . import signing, status_list
from .credits import is_recorded
from .models import Certificate, CertificateStatus

OB3_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
# The JSON schema the credential validates against (OB 3.0 §B.1, 1EdTech's validator type).
OB3_SCHEMA = {
    "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
    "ob_v3p0_achievementcredential_schema.json",
    "type": "1EdTechJsonSchemaValidator2019",
}


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


def _headline_hours(certificate):
    """The one figure every body agrees on (same hours, same unit), or None."""
    try:
        return certificate.headline_hours
    except AttributeError:  # a model without the property: work it out from the lines
        figures = {(line["hours"], line.get("unit")) for line in certificate.credits}
        return Decimal(figures.pop()[0]) if len(figures) == 1 else None


def _unit(line):
    if line.get("unit"):
        return line["unit"]
    if line.get("minutes_per_credit"):
        return _("%(minutes)s-minute hours") % {"minutes": line["minutes_per_credit"]}
    return _("hours")


def _body_results(certificate, achievement_id):
    """Each body's hours as an OB 3.0 ResultDescription (on the achievement) and Result."""
    descriptions, results = [], []
    for number, line in enumerate(certificate.credits, start=1):
        description_id = f"{achievement_id}#ce-credit-{line.get('body_id') or number}"
        descriptions.append(
            {
                "id": description_id,
                "type": ["ResultDescription"],
                "name": _("%(body)s credit (%(unit)s)")
                % {"body": line.get("body") or line["short_name"], "unit": _unit(line)},
                "resultType": "ext:CreditHours",
            }
        )
        results.append(
            {"type": ["Result"], "resultDescription": description_id, "value": line["hours"]}
        )
    return descriptions, results


def _criteria(certificate):
    """What the earner did: a home-study attendee attended no session, so their badge must
    not say they did (a verifier reads it as the claim the credit rests on)."""
    if is_recorded(certificate.event):
        return _(
            "Studied the recorded program at home: watched the share of the recordings the "
            "approving body requires, passed the post-test and, where the body requires it, "
            "submitted the program evaluation."
        )
    return _(
        "Attended the program's sessions as recorded by the sponsor and, where "
        "the approving body requires it, submitted the program evaluation."
    )


def subject_id(certificate):
    """A stable pseudonymous id for the earner (the JWT `sub`): it names no one.

    Derived from SECRET_KEY and the certificate, so it cannot be linked to an email address or
    to the earner's other certificates.
    """
    digest = salted_hmac(
        "certification.badges.subject_id", certificate.code, algorithm="sha256"
    ).digest()
    return uuid.UUID(bytes=digest[:16], version=4).urn


def _status_note(certificate):
    """(validUntil, description) for a certificate that is no longer valid, else (None, None)."""
    if certificate.status == CertificateStatus.REVOKED:
        ended = certificate.revoked_at or certificate.issued_at
        return ended, _("Revoked on %(date)s: this certificate is no longer valid.") % {
            "date": ended.date().isoformat()
        }
    if certificate.status == CertificateStatus.SUPERSEDED:
        successor = Certificate.objects.filter(supersedes=certificate).first()
        if successor is None:
            return certificate.issued_at, _("Superseded: this certificate is no longer valid.")
        current = certificate.current_version()
        return successor.issued_at, _(
            "Superseded on %(date)s by a corrected certificate; the current one is %(code)s "
            "(%(url)s). This certificate is no longer valid."
        ) % {
            "date": successor.issued_at.date().isoformat(),
            "code": current.code,
            "url": absolute_url(current.get_verification_url()),
        }
    return None, None


def open_badge(certificate, *, for_holder=False):
    """An OpenBadgeCredential (unsigned) describing the certificate and its credit hours.

    The public copy names no earner: a hash of the email with its salt would let anyone
    confirm a guessed address. The holder's copy (`for_holder`, downloaded while logged in)
    identifies them by the salted email hash and carries the salt, so they can prove it.

    `creditsEarned` appears only when every body gives the same hours in the same unit; each
    body's own figure is a `result` (with its unit in the achievement's `resultDescription`).
    `credentialStatus` is the certificate's bit in the site's Bitstring Status List; a revoked
    or superseded certificate also says so itself (`validUntil` and `description`).
    """
    verify_url = absolute_url(certificate.get_verification_url())
    event_url = absolute_page_url(certificate.event) or verify_url
    hours = ", ".join(
        _("%(hours)s hours %(body)s (%(unit)s)")
        % {"hours": line["hours"], "body": line["short_name"], "unit": _unit(line)}
        for line in certificate.credits
    )
    headline = _headline_hours(certificate)
    descriptions, results = _body_results(certificate, event_url)
    achievement = {
        "id": event_url,
        "type": ["Achievement"],
        "achievementType": "Certificate",
        "name": certificate.program_title,
        "description": _("Continuing education: %(program)s (%(dates)s, %(format)s). %(hours)s.")
        % {
            "program": certificate.program_title,
            "dates": certificate.program_dates,
            "format": certificate.program_format,
            "hours": hours,
        },
        "criteria": {"narrative": _criteria(certificate)},
        "resultDescription": descriptions,
    }
    subject = {"id": subject_id(certificate), "type": ["AchievementSubject"]}
    if headline is not None:
        subject["creditsEarned"] = float(headline)
        achievement["creditsAvailable"] = float(headline)
    subject["achievement"] = achievement
    subject["result"] = results
    credential = {
        "@context": OB3_CONTEXT,
        "id": verify_url,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": _("CE certificate: %(program)s") % {"program": certificate.program_title},
        "issuer": {
            "id": signing.issuer_id(),
            "type": ["Profile"],
            "name": certificate.sponsor_name,
            "url": settings.SITE_URL + "/",
        },
        "validFrom": status_list.timestamp(certificate.issued_at),
        "credentialSubject": subject,
        "evidence": [
            {
                "id": verify_url,
                "type": ["Evidence"],
                "name": _("Certificate %(code)s") % {"code": certificate.code},
                "description": hours,
            }
        ],
        "credentialSchema": [OB3_SCHEMA],
        "credentialStatus": status_list.entry(certificate),
    }
    if for_holder:
        subject["identifier"] = [_identity(certificate)]
    ended, note = _status_note(certificate)
    if ended is not None:
        credential["validUntil"] = status_list.timestamp(ended)
        credential["description"] = note
    return credential


def signed_open_badge(certificate, *, for_holder=False):
    """(credential JSON with its `proof`, the VC-JWT) of the certificate's badge.

    The JWT is the proof (OB 3.0 §8.2, "JSON Web Token Proof Format"): its payload is the
    credential as served here without the `proof` member. The JSON copy carries the same JWT
    in `proof[0].jwt` (type JwtProof2020, the name VC-JWT tools give a JWT carried in JSON;
    `proof` is a list, as the OB 3.0 JSON schema wants); the bare JWT is served at the
    badge's `.jwt` address as application/vc+jwt.
    """
    credential = open_badge(certificate, for_holder=for_holder)
    token = signing.vc_jwt(credential)
    return {**credential, "proof": proof(token, credential["validFrom"])}, token


def proof(token, created):
    """The JSON `proof` of a JWT-signed credential: the compact JWS and the key that verifies it."""
    return [
        {
            "type": "JwtProof2020",
            "created": created,
            "proofPurpose": "assertionMethod",
            "verificationMethod": signing.signing_key().kid,
            "jwt": token,
        }
    ]


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
