"""The Content-Security-Policy middleware: the strict site policy, relaxed only for the admin.

With private files in S3 the browser talks to the bucket itself (Uppy's multipart upload,
presigned playback and posters), so `connect-src`, `media-src` and `img-src` also allow the
bucket's origin (and its custom domain, if one is set): that origin only, derived from the
storage settings, never a wildcard. Without S3 the policy is exactly `CONTENT_SECURITY_POLICY`.
"""

from csp.middleware import CSPMiddleware

from cms.storage import private_bucket_origins

ADMIN_PREFIX = "/admin/"
BUCKET_DIRECTIVES = ("connect-src", "media-src", "img-src")


class SiteCSPMiddleware(CSPMiddleware):
    """Send `CONTENT_SECURITY_POLICY` everywhere; allow inline scripts under /admin/ only.

    Wagtail 7.4's editor still renders inline <script> blocks (the InlinePanel set-up and the
    date and time pickers), so under the strict policy the page editor's repeatable panels and
    "go live" dates would stop working. The admin opens only for staff who passed two-factor
    authentication and shows no visitor-written HTML, so the relaxation stays there; every
    other directive (no outside hosts, no plugins, no framing by others) still applies.

    Nothing may frame a page (`frame-ancestors 'none'`), with one exception: the admin's live
    preview panel shows the page being edited in a same-origin iframe. Wagtail marks exactly
    those preview views (page and snippet previews, StreamField block previews) with
    `X-Frame-Options: SAMEORIGIN`; under /admin/ such a response gets `frame-ancestors 'self'`
    so the preview keeps working. Every other response, admin or not, stays unframeable.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        origins = list(private_bucket_origins())
        if origins:
            parts.update = {
                **(parts.update or {}),
                **dict.fromkeys(BUCKET_DIRECTIVES, origins),
            }
        if request.path_info.startswith(ADMIN_PREFIX):
            parts.replace = {**(parts.replace or {}), "script-src": ["'self'", "'unsafe-inline'"]}
            # A nonce in script-src makes browsers ignore 'unsafe-inline'.
            parts.nonce = None
            if response.get("X-Frame-Options", "").upper() == "SAMEORIGIN":
                parts.replace = {**parts.replace, "frame-ancestors": ["'self'"]}
        return parts
