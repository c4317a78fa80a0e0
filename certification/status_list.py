"""The site's revocation list: a W3C Bitstring Status List v1.0 credential.

Every certificate whose badge has been handed out owns one bit (`status_list_index`), given
the first time its badge is rendered. The bit is on when the certificate is no longer valid:
revoked, or superseded by a corrected certificate (a superseded certificate never becomes
valid again, so both are "revocation" in the spec's sense). The list is read from the
certificates each time it is served, so a revocation shows the moment it is committed.

Encoding (Bitstring Status List §2.1): the bitstring is at least 16 KB (131,072 bits), bit 0
is the most significant bit of the first byte, and `encodedList` is "u" (multibase base64url)
followed by the unpadded base64url of the GZIP-compressed bytes.

Indexes are drawn at random from a range kept at most half full (the spec's herd-privacy
advice: an index says nothing about when a certificate was issued). Two requests racing to
number certificates cannot share a bit: the column is unique, and a collision just draws again.
"""

import base64
import gzip
import secrets
from datetime import UTC

from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone

from cms.links import absolute_url

from .models import Certificate, CertificateStatus
from .signing import issuer_id

MIN_BITS = 131072  # 16 KB, the spec's minimum: smaller lists identify their holders
STATUS_PURPOSE = "revocation"
DRAWS = 20


def list_url():
    return absolute_url(reverse("certification:status_list"))


def _draw_range():
    """The range new indexes are drawn from: a multiple of MIN_BITS at most half used."""
    used = Certificate.objects.filter(status_list_index__isnull=False).count()
    size = MIN_BITS
    while used * 2 >= size:
        size *= 2
    return size


def ensure_index(certificate):
    """The certificate's bit in the list, assigned now if it has none yet (race-safe)."""
    if certificate.status_list_index is not None:
        return certificate.status_list_index
    size = _draw_range()
    for _attempt in range(DRAWS):
        candidate = secrets.randbelow(size)
        try:
            with transaction.atomic():
                claimed = Certificate.objects.filter(
                    pk=certificate.pk, status_list_index__isnull=True
                ).update(status_list_index=candidate)
        except IntegrityError:
            continue  # another certificate holds that bit: draw again
        if not claimed:
            # Another request numbered this certificate first: use its bit.
            candidate = Certificate.objects.values_list("status_list_index", flat=True).get(
                pk=certificate.pk
            )
        certificate.status_list_index = candidate
        return candidate
    raise RuntimeError("No free bit in the status list after repeated draws.")


def entry(certificate):
    """The credential's `credentialStatus`: a BitstringStatusListEntry for its bit."""
    index = ensure_index(certificate)
    url = list_url()
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def bitstring():
    """The list's bytes: one bit per numbered certificate, on for revoked and superseded."""
    numbered = Certificate.objects.filter(status_list_index__isnull=False)
    highest = numbered.aggregate(highest=Max("status_list_index"))["highest"] or 0
    size = MIN_BITS * (highest // MIN_BITS + 1)
    bits = bytearray(size // 8)
    for index in numbered.exclude(status=CertificateStatus.ISSUED).values_list(
        "status_list_index", flat=True
    ):
        bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)


def encode(bits):
    """Multibase base64url (prefix "u", no padding) of the GZIP of the bitstring."""
    compressed = gzip.compress(bits, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def timestamp(value):
    """An aware date-time as XML Schema dateTimeStamp in UTC, to the second."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last_change():
    """When the list last changed: the latest revocation or correction, else the first issue.

    A fixed past time (not "now"), so a verifier whose clock runs a little behind never sees a
    list that is not valid yet, and an unchanged list is served byte for byte the same.
    """
    numbered = Certificate.objects.filter(status_list_index__isnull=False)
    times = [
        numbered.filter(status=CertificateStatus.REVOKED).aggregate(at=Max("revoked_at"))["at"],
        Certificate.objects.filter(supersedes__status_list_index__isnull=False).aggregate(
            at=Max("issued_at")
        )["at"],
    ]
    times = [time for time in times if time is not None]
    if times:
        return max(times)
    # Nothing revoked yet: the first certificate, or now on a site that has issued none.
    return Certificate.objects.aggregate(at=Min("issued_at"))["at"] or timezone.now()


def credential():
    """The BitstringStatusListCredential (unsigned JSON) the entries point at."""
    url = list_url()
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(),
        "validFrom": timestamp(_last_change()),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encode(bitstring()),
        },
    }
