"""Production: every secret from the environment, HTTPS only, static files from whitenoise."""

from django.core.exceptions import ImproperlyConfigured

from .base import *

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY in the environment (a long random string).")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "Set ALLOWED_HOSTS in the environment, e.g. ALLOWED_HOSTS=training.example.org"
    )
# Badges signed with a key generated on one server would not verify against another's, and
# would stop verifying when the private files are moved: production names its key.
CE_BADGE_DEV_KEY_FILE = None
if not (CE_BADGE_SIGNING_KEY or CE_BADGE_SIGNING_KEY_FILE):
    raise ImproperlyConfigured(
        "Set CE_BADGE_SIGNING_KEY (a PEM private key) or CE_BADGE_SIGNING_KEY_FILE (its path) "
        "in the environment: it signs the Open Badges. Make one with "
        "`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`."
    )
# Forms posted from the public address must pass the CSRF origin check behind the proxy.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

# Hashed names let browsers cache static files for a year; whitenoise serves the
# pre-compressed (gzip/brotli) copies that collectstatic writes.
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
EMAIL_DELIVERY_BACKEND = env(
    "EMAIL_DELIVERY_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
)

# nginx (or the load balancer) terminates TLS and tells Django the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Health checks from the load balancer usually arrive over plain HTTP on the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# Nothing on the site is meant to be framed; Wagtail's preview views override this with
# SAMEORIGIN themselves so the editor's live preview keeps working.
X_FRAME_OPTIONS = "DENY"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

IS_PRODUCTION = True

# Logs: one JSON object per line on stderr (journald / the container runtime collects it),
# with the request id, user id, path, status and duration of each request on `cms.request`.
LOG_FORMAT = env("LOG_FORMAT", "json")
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "text"
LOGGING["handlers"]["mail_admins"]["email_backend"] = EMAIL_DELIVERY_BACKEND
LOGGING["root"]["level"] = env("LOG_LEVEL", "WARNING")
# The access line of every request (cms.observability); ACCESS_LOG_LEVEL=WARNING drops them.
LOGGING["loggers"]["cms.request"] = {"level": env("ACCESS_LOG_LEVEL", "INFO")}
LOGGING["loggers"]["cms.cache_backends"] = {"level": "WARNING"}

# Error reports to Sentry, only when a DSN is configured: unhandled exceptions in views and
# Celery tasks, and ERROR log lines. No personal data is sent (send_default_pii=False).
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", "production"),
        release=env("SENTRY_RELEASE"),
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0")),
        send_default_pii=False,
    )
