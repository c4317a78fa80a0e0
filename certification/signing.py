"""The key that signs Open Badges and the status list, and where its public half is published.

Signatures are JSON Web Signatures made with joserfc (RFC 7515), in the Open Badges 3.0
"JSON Web Token Proof Format" (OB 3.0 §8.2): a compact JWS whose JOSE header holds only
`alg`, `typ` ("JWT"), `kid` and `jwk`, and whose payload is the credential itself plus the
registered claims `iss`, `jti`, `nbf`, `sub` (and `exp` when the credential has `validUntil`).

The algorithm follows the key: RSA (at least 2048 bits) signs RS256, the Open Badges baseline
every verifier must support and the kind `make run` and the tests generate; a P-256 key signs
ES256 and an Ed25519 key EdDSA, for sites that prefer short signatures and accept that some
badge verifiers only know RS256.

Where the private key comes from (settings, see .env.example):
- `CE_BADGE_SIGNING_KEY`: the PEM text (real newlines or `\\n`), or
- `CE_BADGE_SIGNING_KEY_FILE`: the path of a PEM file (e.g. a systemd credential).
- Neither set: development and tests generate an RSA key once and keep it in the file named by
  `CE_BADGE_DEV_KEY_FILE` (private media's `keys/` folder for `make run`), so badges stay
  verifiable across restarts. Production settings refuse to start without one of the two.

The public key is published three ways, all with the same key:
- `kid`, an HTTPS URL on this site that answers the public JWK (OB 3.0 "dereference the kid");
- `/.well-known/jwks.json`, a JWK Set whose entry carries that same `kid`;
- `/.well-known/did.json`, the did:web document of the site (`alsoKnownAs` the issuer URL).
The issuer id in every credential and the `iss` claim is the site's URL (SITE_URL + "/").
After a key change, the old public keys listed in `CE_BADGE_RETIRED_PUBLIC_KEYS_FILE` are
published the same three ways, so badges downloaded before the change still verify.
"""

import contextlib
import functools
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

from cms.links import absolute_url

# Members of a JWK that belong to the private key; none of them is ever published.
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


class SigningKey:
    """A badge-signing key: the joserfc key, its algorithm and its public forms.

    Built from a private key (the current key, which signs) or from a public key (a retired
    key, published only so that badges it signed before a key change still verify).
    """

    def __init__(self, key):
        if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
            if key.key_size < 2048:
                raise ImproperlyConfigured(
                    "The badge-signing RSA key is too short: use at least 2048 bits."
                )
            self.algorithm, key_class = "RS256", RSAKey
        elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1):
                raise ImproperlyConfigured(
                    "The badge-signing EC key must be on the P-256 curve (ES256)."
                )
            self.algorithm, key_class = "ES256", ECKey
        elif isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
            self.algorithm, key_class = "EdDSA", OKPKey
        else:
            raise ImproperlyConfigured(
                "The badge-signing key must be an RSA (RS256), P-256 (ES256) or Ed25519 key."
            )
        self.key = key_class.import_key(key)
        self.thumbprint = self.key.thumbprint()

    @property
    def kid(self):
        """The key's id: the URL that answers its public JWK."""
        return absolute_url(reverse("certification:badge_key", args=[self.thumbprint]))

    def public_jwk(self):
        """The public JWK with its id, use and algorithm (never a private member)."""
        jwk = {
            name: value
            for name, value in self.key.as_dict(private=False).items()
            if name not in PRIVATE_MEMBERS
        }
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def sign(self, claims):
        """The compact JWS (JWT) of the claims, with the OB 3.0 JOSE header."""
        header = {"alg": self.algorithm, "typ": "JWT", "kid": self.kid, "jwk": self.public_jwk()}
        return jwt.encode(header, claims, self.key, algorithms=[self.algorithm])


def _numeric_date(value):
    """A credential's ISO 8601 date-time as a JWT NumericDate (whole seconds since the epoch)."""
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def vc_jwt(credential):
    """The credential signed as a VC-JWT (OB 3.0 §8.2): the credential plus its JWT claims."""
    issuer = credential["issuer"]
    claims = {
        **credential,
        "iss": issuer["id"] if isinstance(issuer, dict) else issuer,
        "jti": credential["id"],
        "nbf": _numeric_date(credential["validFrom"]),
        "sub": credential["credentialSubject"]["id"],
    }
    if credential.get("validUntil"):
        claims["exp"] = _numeric_date(credential["validUntil"])
    return signing_key().sign(claims)


def _read_pem():
    """The configured PEM bytes, or None when neither setting names a key."""
    text = (getattr(settings, "CE_BADGE_SIGNING_KEY", None) or "").strip()
    if text:
        return text.replace("\\n", "\n").encode("ascii")
    path = getattr(settings, "CE_BADGE_SIGNING_KEY_FILE", None)
    if path:
        try:
            return Path(path).read_bytes()
        except OSError as error:
            raise ImproperlyConfigured(
                f"CE_BADGE_SIGNING_KEY_FILE names {path}, which cannot be read: {error}."
            ) from error
    return None


def _development_pem(path):
    """The generated development key kept at `path`, created on first use.

    The new key is written to a temporary file and linked into place, so two processes that
    start together end up with the same key: the second link fails and that process reads the
    first one's file.
    """
    path = Path(path)
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # mkstemp creates the file readable by this user only (0600).
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".badge-key-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(pem)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    return path.read_bytes()


@functools.cache
def _load(pem):
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "The badge-signing key is not an unencrypted PEM private key "
            "(CE_BADGE_SIGNING_KEY or CE_BADGE_SIGNING_KEY_FILE)."
        ) from error
    return SigningKey(private_key)


def signing_key():
    """The site's SigningKey (read once per process for each configured PEM)."""
    pem = _read_pem()
    if pem is None:
        development_file = getattr(settings, "CE_BADGE_DEV_KEY_FILE", None)
        if not development_file:
            raise ImproperlyConfigured(
                "Set CE_BADGE_SIGNING_KEY (a PEM private key) or CE_BADGE_SIGNING_KEY_FILE: "
                "Open Badges cannot be signed without it."
            )
        pem = _development_pem(development_file)
    return _load(pem)


@functools.cache
def _load_retired(pem):
    keys = []
    for block in PEM_BLOCK.findall(pem):
        try:
            keys.append(SigningKey(serialization.load_pem_public_key(block.encode("ascii"))))
        except (ValueError, TypeError) as error:
            raise ImproperlyConfigured(
                "CE_BADGE_RETIRED_PUBLIC_KEYS_FILE holds something that is not a PEM public key."
            ) from error
    return tuple(keys)


def published_keys():
    """The current key, then each retired public key (CE_BADGE_RETIRED_PUBLIC_KEYS_FILE).

    After a key change, list the old public key there: badges downloaded before the change
    name it in their `kid` and keep verifying. Badges fetched again are signed with the new key.
    """
    current = signing_key()
    keys = [current]
    path = getattr(settings, "CE_BADGE_RETIRED_PUBLIC_KEYS_FILE", None)
    if path:
        try:
            text = Path(path).read_text(encoding="ascii")
        except OSError as error:
            raise ImproperlyConfigured(
                f"CE_BADGE_RETIRED_PUBLIC_KEYS_FILE names {path}, which cannot be read: {error}."
            ) from error
        seen = {current.thumbprint}
        for key in _load_retired(text):
            if key.thumbprint not in seen:
                seen.add(key.thumbprint)
                keys.append(key)
    return keys


def issuer_id():
    """The issuer of every credential this site signs: the site itself."""
    return settings.SITE_URL + "/"


def did():
    """The site's did:web identifier (a port is percent-encoded, as did:web requires)."""
    host = urlsplit(settings.SITE_URL).netloc
    return "did:web:" + quote(host, safe="")


def jwks():
    """The JWK Set published at /.well-known/jwks.json: the current key first."""
    return {"keys": [key.public_jwk() for key in published_keys()]}


def did_document():
    """The did:web document published at /.well-known/did.json."""
    identifier = did()
    methods = [
        {
            "id": f"{identifier}#{key.thumbprint}",
            "type": "JsonWebKey2020",
            "controller": identifier,
            "publicKeyJwk": key.public_jwk(),
        }
        for key in published_keys()
    ]
    return {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/suites/jws-2020/v1",
        ],
        "id": identifier,
        "alsoKnownAs": [issuer_id()],
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
