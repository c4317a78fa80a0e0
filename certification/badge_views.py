"""Public badge addresses: the signed Open Badge, the revocation list and the issuer's key.

- /verify/<code>/badge.json: the OpenBadgeCredential as JSON-LD with a `proof` member that
  holds its VC-JWT (`proof[0].jwt`); a `Link` header points at the bare JWT.
- /verify/<code>/badge.jwt: the same credential as a compact JWS, application/vc+jwt
  (Open Badges 3.0 §8.2 "JSON Web Token Proof Format", RS256 with the site's key).
- /badges/status/1: the BitstringStatusListCredential every badge's `credentialStatus` names:
  JSON with its JWT in `proof[0].jwt`, or the bare JWT to a client that asks for
  application/vc+jwt (or application/jwt) in Accept; /badges/status/1.jwt is always the JWT.
- /badges/keys/<thumbprint>: the public JWK a JWT's `kid` names (current or retired key).
- /.well-known/jwks.json and /.well-known/did.json: the same public key as a JWK Set and as
  the did:web document of the site.

All of them may be read by anyone, from any origin (`Access-Control-Allow-Origin: *`), so a
verifier running in a browser can check a badge. No private key member is ever in an answer.
"""

import json

from django.http import HttpResponse, JsonResponse
from django.urls import reverse

from cms.access import public
from cms.links import absolute_url

from . import badges, signing, status_list, views
from .models import Certificate

JWT_TYPES = ("application/vc+jwt", "application/jwt", "application/vc+ld+json+jwt")


def _json(document, *, content_type="application/json", cache="public, max-age=300"):
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2),
        content_type=f"{content_type}; charset=utf-8",
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = cache
    return response


def _jwt(token, *, cache):
    response = HttpResponse(token, content_type="application/vc+jwt")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = cache
    return response


def _certificate(request, code):
    """(certificate, holder) for a well-formed, known code; (None, response) otherwise."""
    if views._rate_limited(request):
        return None, JsonResponse(
            {"error": "Too many requests. Try again in a minute."}, status=429
        )
    code = (code or "").strip().upper()
    certificate = (
        Certificate.objects.select_related("event", "registration").filter(code=code).first()
        if views.CODE_PATTERN.match(code)
        else None
    )
    if certificate is None:
        return None, JsonResponse({"error": "No certificate has this id."}, status=404)
    # Only the holder's own download identifies them (salted email hash plus its salt); the
    # public copy must not let anyone confirm a guessed email address.
    user = request.user
    holder = user.is_authenticated and user.pk in (
        certificate.attendee_id,
        certificate.registration.attendee_id,
    )
    return certificate, holder


def _badge_cache(holder):
    # The holder's copy names them; the public one changes when the certificate is revoked.
    return "private, no-store" if holder else "no-cache"


@public
def open_badge(request, code):
    certificate, holder = _certificate(request, code)
    if certificate is None:
        return holder  # the refusal
    credential, _token = badges.signed_open_badge(certificate, for_holder=holder)
    response = _json(credential, content_type="application/ld+json", cache=_badge_cache(holder))
    jwt_url = absolute_url(reverse("certification:open_badge_jwt", args=[certificate.code]))
    response["Link"] = f'<{jwt_url}>; rel="alternate"; type="application/vc+jwt"'
    return response


@public
def open_badge_jwt(request, code):
    certificate, holder = _certificate(request, code)
    if certificate is None:
        return holder  # the refusal
    _credential, token = badges.signed_open_badge(certificate, for_holder=holder)
    return _jwt(token, cache=_badge_cache(holder))


def _wants_jwt(request):
    accept = request.headers.get("Accept", "")
    return any(kind in accept for kind in JWT_TYPES) and "json" not in accept.split(",")[0]


@public
def status_list_credential(request):
    document = status_list.credential()
    token = signing.vc_jwt(document)
    # Revocations must reach verifiers quickly: a minute of caching at most.
    cache = "public, max-age=60"
    if _wants_jwt(request):
        response = _jwt(token, cache=cache)
    else:
        proof = badges.proof(token, document["validFrom"])
        response = _json(
            {**document, "proof": proof}, content_type="application/ld+json", cache=cache
        )
    response["Vary"] = "Accept"
    return response


@public
def status_list_jwt(request):
    return _jwt(signing.vc_jwt(status_list.credential()), cache="public, max-age=60")


@public
def jwks(request):
    return _json(signing.jwks(), content_type="application/jwk-set+json")


@public
def badge_key(request, thumbprint):
    for key in signing.published_keys():
        if key.thumbprint == thumbprint:
            return _json(key.public_jwk(), content_type="application/jwk+json")
    return JsonResponse({"error": "This site signs with no key of that id."}, status=404)


@public
def did_document(request):
    return _json(signing.did_document(), content_type="application/did+json")
