"""Signed Open Badges 3.0, checked the way an outside verifier would.

The verifier here is written separately from the site's signing code: it verifies the JWS with
`cryptography` alone (no joserfc), taking the key from /.well-known/jwks.json, and decodes
the Bitstring Status List by hand (base64url, gzip, bit index, most significant bit first).
"""

import base64
import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from certification import services, signing
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import Certificate, CreditBasis, EvaluationResponse
from courses import attendance
from tests.integration.test_infra_production import PROJECT_ROOT, production_env

pytestmark = [pytest.mark.django_db, pytest.mark.board]

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def _apa_and_florida():
    """APA counts 60-minute hours (5.00), the Florida board 50-minute hours (6.00)."""
    make_sponsor()
    event = make_event("Measuring What Matters")
    make_offering(event, make_body("APA"))
    make_offering(
        event,
        make_body(
            "FL 491",
            name="Florida Board of Clinical Social Work, MFT and Mental Health Counseling",
            provider_number="50-SAMPLE1",
            jurisdiction="FL",
            minutes_per_credit=50,
            credit_basis=CreditBasis.FULL_PROGRAM,
        ),
        course_number="20-123456",
    )
    return event


def _certified(event, name="Ana Souza", email="ana@example.org"):
    user = make_user(email, name)
    registration = make_registration(event, name=name, user=user)
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return user, services.issue_certificate(registration, notify=False)


# -- the independent verifier -------------------------------------------------------------------


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fetch(client, url, **headers):
    """GET an absolute URL of this site through the test client."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == settings.SITE_URL, url
    response = client.get(parts.path, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response


def public_key_from_jwks(client, kid):
    jwks = json.loads(fetch(client, settings.SITE_URL + "/.well-known/jwks.json").content)
    [jwk] = [key for key in jwks["keys"] if key["kid"] == kid]
    if jwk["kty"] == "EC":
        assert jwk["crv"] == "P-256"
        return ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64url_decode(jwk["x"])),
            int.from_bytes(b64url_decode(jwk["y"])),
            ec.SECP256R1(),
        ).public_key()
    assert jwk["kty"] == "RSA"
    return rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(jwk["e"])), int.from_bytes(b64url_decode(jwk["n"]))
    ).public_key()


def verify_jwt(client, token, alg="RS256"):
    """(header, payload) of a compact JWS whose signature checks out; raises otherwise."""
    encoded_header, encoded_payload, encoded_signature = token.split(".")
    header = json.loads(b64url_decode(encoded_header))
    assert header["alg"] == alg
    assert header["typ"] == "JWT"
    assert set(header) <= {"alg", "kid", "jwk", "typ"}  # OB 3.0: no other JOSE header
    key = public_key_from_jwks(client, header["kid"])
    signed = f"{encoded_header}.{encoded_payload}".encode("ascii")
    signature = b64url_decode(encoded_signature)
    if alg == "ES256":  # JWS carries r || s; cryptography wants DER
        r, s = int.from_bytes(signature[:32]), int.from_bytes(signature[32:])
        key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    return header, json.loads(b64url_decode(encoded_payload))


def epoch(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def check_claims(payload):
    """OB 3.0 §8.2.4: the registered claims repeat the credential's own fields."""
    issuer = payload["issuer"]["id"] if isinstance(payload["issuer"], dict) else payload["issuer"]
    assert payload["iss"] == issuer
    assert payload["jti"] == payload["id"]
    assert payload["sub"] == payload["credentialSubject"]["id"]
    assert payload["nbf"] == epoch(payload["validFrom"])
    assert payload["nbf"] <= datetime.now(UTC).timestamp()
    if "validUntil" in payload:
        assert payload["exp"] == epoch(payload["validUntil"])


def revoked_bit(client, credential):
    """Follow credentialStatus to the list, check the list's own signature, read the bit."""
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"
    listing = fetch(client, status["statusListCredential"], accept="application/vc+jwt")
    assert listing["Content-Type"] == "application/vc+jwt"
    _header, status_list = verify_jwt(client, listing.content.decode())
    check_claims(status_list)
    assert status_list["id"] == status["statusListCredential"]
    assert "BitstringStatusListCredential" in status_list["type"]
    subject = status_list["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == "revocation"
    encoded = subject["encodedList"]
    assert encoded.startswith("u")  # multibase base64url
    bits = gzip.decompress(b64url_decode(encoded[1:]))
    assert len(bits) * 8 >= 131072
    index = int(status["statusListIndex"])
    return (bits[index // 8] >> (7 - index % 8)) & 1


def badge(client, certificate):
    """(credential JSON, its JWT) as anyone downloads them."""
    response = client.get(reverse("certification:open_badge", args=[certificate.code]))
    assert response.status_code == 200
    credential = json.loads(response.content)
    token = credential["proof"][0]["jwt"]
    bare = client.get(reverse("certification:open_badge_jwt", args=[certificate.code]))
    assert bare["Content-Type"] == "application/vc+jwt"
    # The same signed header and payload (an ECDSA signature differs on every signing).
    assert bare.content.decode().rsplit(".", 1)[0] == token.rsplit(".", 1)[0]
    jwt_path = reverse("certification:open_badge_jwt", args=[certificate.code])
    assert response["Link"] == (
        f'<{settings.SITE_URL}{jwt_path}>; rel="alternate"; type="application/vc+jwt"'
    )
    return credential, token


def payload_is_the_credential(payload, credential):
    signed = {k: v for k, v in payload.items() if k not in {"iss", "jti", "nbf", "sub", "exp"}}
    served = {k: v for k, v in credential.items() if k != "proof"}
    assert signed == served


# -- the tests ----------------------------------------------------------------------------------


def test_badge_verified_by_an_independent_verifier_then_revoked(client):
    event = _apa_and_florida()
    _user, certificate = _certified(event)

    # The public verification page (where the certificate's QR code leads) names both copies.
    page = client.get(reverse("certification:verify", args=[certificate.code])).content.decode()
    assert reverse("certification:open_badge_jwt", args=[certificate.code]) in page
    assert reverse("certification:open_badge", args=[certificate.code]) in page
    credential, token = badge(client, certificate)
    header, payload = verify_jwt(client, token)
    check_claims(payload)
    payload_is_the_credential(payload, credential)
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["proof"][0]["verificationMethod"] == header["kid"]
    # The kid is a URL that answers the very key the JWKS lists.
    assert json.loads(fetch(client, header["kid"]).content)["n"] == header["jwk"]["n"]
    assert revoked_bit(client, payload) == 0
    assert "validUntil" not in payload

    staff = make_user("ce-admin@example.org", "Casey Admin")
    services.revoke_certificate(certificate, actor=staff, reason="did not attend days 3–5")

    assert revoked_bit(client, payload) == 1  # the badge already handed out is now revoked
    credential, token = badge(client, certificate)
    _header, payload = verify_jwt(client, token)
    check_claims(payload)
    assert payload["credentialStatus"] == credential["credentialStatus"]
    assert revoked_bit(client, payload) == 1
    assert payload["description"].startswith("Revoked on ")
    assert payload["exp"] <= datetime.now(UTC).timestamp()


def test_a_superseded_badge_says_so_and_its_bit_is_set(client):
    event = _apa_and_florida()
    user, certificate = _certified(event)
    old, _token = badge(client, certificate)

    corrected = services.reissue_certificate(certificate, actor=user, note="Name spelling")

    _header, payload = verify_jwt(client, badge(client, certificate)[1])
    assert revoked_bit(client, old) == 1
    assert corrected.code in payload["description"]
    assert "no longer valid" in payload["description"]
    assert payload["validUntil"]
    new, _token = badge(client, corrected)
    assert revoked_bit(client, new) == 0
    assert new["credentialStatus"]["statusListIndex"] != old["credentialStatus"]["statusListIndex"]


def test_a_tampered_badge_fails_verification(client):
    event = _apa_and_florida()
    _user, certificate = _certified(event)
    _credential, token = badge(client, certificate)
    encoded_header, encoded_payload, encoded_signature = token.split(".")
    payload = json.loads(b64url_decode(encoded_payload))
    payload["credentialSubject"]["result"][0]["value"] = "27.00"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")

    with pytest.raises(InvalidSignature):
        verify_jwt(client, f"{encoded_header}.{forged}.{encoded_signature}")
    flipped = encoded_signature[:-2] + ("A" if encoded_signature[-2] != "A" else "B") + "A"
    with pytest.raises(InvalidSignature):
        verify_jwt(client, f"{encoded_header}.{encoded_payload}.{flipped}")
    verify_jwt(client, token)  # the untouched one still verifies


def test_unknown_certificates_and_keys_are_not_found(client):
    _apa_and_florida()
    for code in ("CE-0000-0000-0000-0000", "not-a-code"):
        for name in ("certification:open_badge", "certification:open_badge_jwt"):
            response = client.get(reverse(name, args=[code]))
            assert response.status_code == 404
            assert json.loads(response.content) == {"error": "No certificate has this id."}
    response = client.get(reverse("certification:badge_key", args=["not-our-key"]))
    assert response.status_code == 404


def _members(document):
    """Every member name anywhere in a JSON document."""
    if isinstance(document, dict):
        for name, value in document.items():
            yield name
            yield from _members(value)
    elif isinstance(document, list):
        for value in document:
            yield from _members(value)


def test_no_private_key_material_in_any_public_answer(client):
    event = _apa_and_florida()
    user, certificate = _certified(event)
    private_d = signing.signing_key().key.as_dict(private=True)["d"]
    kid = signing.signing_key().kid
    status_url = reverse("certification:status_list")
    answers = {
        "jwks": client.get("/.well-known/jwks.json"),
        "did": client.get("/.well-known/did.json"),
        "key": client.get(urlsplit(kid).path),
        "badge": client.get(reverse("certification:open_badge", args=[certificate.code])),
        "jwt": client.get(reverse("certification:open_badge_jwt", args=[certificate.code])),
        "status": client.get(status_url),
        "status-jwt": client.get(status_url, headers={"accept": "application/vc+jwt"}),
        "status.jwt": client.get(reverse("certification:status_list_jwt")),
    }
    client.force_login(user)
    page = client.get(reverse("certification:certificate_detail", args=[certificate.code]))
    assert reverse("certification:open_badge_jwt", args=[certificate.code]) in page.content.decode()
    answers["holder-badge"] = client.get(
        reverse("certification:open_badge", args=[certificate.code])
    )
    for name, response in answers.items():
        assert response.status_code == 200, name
        assert response["Access-Control-Allow-Origin"] == "*", name
        text = response.content.decode()
        assert private_d not in text, name
        assert "PRIVATE KEY" not in text, name
        documents = []
        if text.startswith("ey"):
            header, payload = (json.loads(b64url_decode(part)) for part in text.split(".")[:2])
            documents = [header, payload]
        else:
            documents = [json.loads(text)]
            token = documents[0].get("proof", [{}])[0].get("jwt")
            if token:
                documents += [json.loads(b64url_decode(part)) for part in token.split(".")[:2]]
        for document in documents:
            jwk_members = set()
            for jwk in _jwks_in(document):
                jwk_members |= set(jwk)
            assert not jwk_members & PRIVATE_MEMBERS, name


def _jwks_in(document):
    if isinstance(document, dict):
        if "kty" in document:
            yield document
        for value in document.values():
            yield from _jwks_in(value)
    elif isinstance(document, list):
        for value in document:
            yield from _jwks_in(value)


def test_credits_earned_only_where_every_body_agrees(client):
    event = _apa_and_florida()
    _user, certificate = _certified(event)
    credential, _token = badge(client, certificate)
    subject = credential["credentialSubject"]
    assert "creditsEarned" not in subject
    assert "creditsAvailable" not in subject["achievement"]
    names = {d["id"]: d["name"] for d in subject["achievement"]["resultDescription"]}
    per_body = {names[r["resultDescription"]]: r["value"] for r in subject["result"]}
    assert per_body == {
        "American Psychological Association credit (60-minute hours)": "5.00",
        "Florida Board of Clinical Social Work, MFT and Mental Health Counseling credit "
        "(50-minute hours)": "6.00",
    }

    agreeing = make_event("Routine Outcome Monitoring", slug="rom")
    make_offering(agreeing, make_body("APA"))
    make_offering(agreeing, make_body("NBCC", name="National Board for Certified Counselors"))
    _user, both = _certified(agreeing, "Bo Bell", "bo@example.org")
    credential, token = badge(client, both)
    _header, payload = verify_jwt(client, token)
    assert payload["credentialSubject"]["creditsEarned"] == float(Decimal("5.00"))
    assert payload["credentialSubject"]["achievement"]["creditsAvailable"] == 5.0
    assert len(payload["credentialSubject"]["result"]) == 2


def test_status_list_bits_are_numbered_once_and_never_shared(client, monkeypatch):
    event = _apa_and_florida()
    _user, first = _certified(event)
    _user, second = _certified(event, "Bo Bell", "bo@example.org")
    credential, _token = badge(client, first)
    taken = int(credential["credentialStatus"]["statusListIndex"])
    first.refresh_from_db()
    assert first.status_list_index == taken
    assert badge(client, first)[0]["credentialStatus"]["statusListIndex"] == str(taken)

    # The next draw hits the bit already taken: the unique column refuses it, a new draw wins.
    draws = iter([taken, taken + 1 if taken + 1 < 131072 else taken - 1])
    monkeypatch.setattr("certification.status_list.secrets.randbelow", lambda n: next(draws))
    other = badge(client, second)[0]["credentialStatus"]["statusListIndex"]
    assert other != str(taken)
    assert Certificate.objects.filter(status_list_index__isnull=False).count() == 2


def test_the_key_is_published_as_jwks_and_did_web(client):
    key = signing.signing_key()
    jwks = json.loads(client.get("/.well-known/jwks.json").content)
    did = json.loads(client.get("/.well-known/did.json").content)
    host = urlsplit(settings.SITE_URL).netloc.replace(":", "%3A")
    assert did["id"] == f"did:web:{host}"
    assert did["alsoKnownAs"] == [settings.SITE_URL + "/"]
    [method] = did["verificationMethod"]
    assert did["assertionMethod"] == [method["id"]]
    assert method["publicKeyJwk"]["n"] == jwks["keys"][0]["n"]
    assert jwks["keys"][0]["kid"] == key.kid
    assert jwks["keys"][0]["alg"] == "RS256"


def _pem(private_key):
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_p256_key_from_the_environment_signs_es256_and_a_short_rsa_key_is_refused(
    client, settings
):
    # As an env file holds it: one line, "\n" for each line break.
    settings.CE_BADGE_SIGNING_KEY = _pem(ec.generate_private_key(ec.SECP256R1())).replace(
        "\n", "\\n"
    )
    event = _apa_and_florida()
    _user, certificate = _certified(event)
    _credential, token = badge(client, certificate)
    _header, payload = verify_jwt(client, token, alg="ES256")
    check_claims(payload)
    jwks = json.loads(client.get("/.well-known/jwks.json").content)
    assert [key["alg"] for key in jwks["keys"]] == ["ES256"]

    settings.CE_BADGE_SIGNING_KEY = _pem(rsa.generate_private_key(65537, 1024))  # noqa: S505 - refused
    with pytest.raises(ImproperlyConfigured, match="at least 2048 bits"):
        signing.signing_key()


def test_badges_signed_before_a_key_change_still_verify(client, settings, tmp_path):
    old_key = rsa.generate_private_key(65537, 2048)
    settings.CE_BADGE_SIGNING_KEY = _pem(old_key)
    event = _apa_and_florida()
    _user, certificate = _certified(event)
    _credential, downloaded = badge(client, certificate)

    # The site changes key and lists the old public key as retired.
    settings.CE_BADGE_SIGNING_KEY = _pem(rsa.generate_private_key(65537, 2048))
    retired = tmp_path / "retired-badge-keys.pem"
    retired.write_bytes(
        old_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings.CE_BADGE_RETIRED_PUBLIC_KEYS_FILE = str(retired)

    old_header, _payload = verify_jwt(client, downloaded)  # found in the JWKS by its kid
    json.loads(fetch(client, old_header["kid"]).content)  # and its kid URL still answers
    new_header, _payload = verify_jwt(client, badge(client, certificate)[1])
    assert new_header["kid"] != old_header["kid"]
    jwks = json.loads(client.get("/.well-known/jwks.json").content)
    assert [key["kid"] for key in jwks["keys"]] == [new_header["kid"], old_header["kid"]]
    did = json.loads(client.get("/.well-known/did.json").content)
    assert len(did["verificationMethod"]) == len(did["assertionMethod"]) == 2


def test_production_refuses_to_start_without_a_badge_signing_key(tmp_path):
    env = production_env(tmp_path)
    env.pop("CE_BADGE_SIGNING_KEY", None)
    env.pop("CE_BADGE_SIGNING_KEY_FILE", None)
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "Set CE_BADGE_SIGNING_KEY" in result.stderr
