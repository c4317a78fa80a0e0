"""Settings shared by every environment; each value that differs comes from the environment."""

import os
from email.utils import getaddresses
from pathlib import Path

import dj_database_url
import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# `.env` (or the file named by ENV_FILE) is read once, here, with django-environ. Variables
# already set in the process environment win over the file, so systemd's EnvironmentFile,
# a container's env and the tests' own values are never overridden. See .env.example.
_ENV_FILE = Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env")
if _ENV_FILE.is_file():
    environ.Env.read_env(_ENV_FILE, overwrite=False)


def env(name, default=None):
    """Read one setting from the environment; empty strings count as unset."""
    value = os.environ.get(name, "").strip()
    return value if value != "" else default


def env_bool(name, default=False):
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
WAGTAILADMIN_BASE_URL = SITE_URL

INSTALLED_APPS = [
    "cms",
    "courses",
    "payments",
    "certification",
    "certification.trainers",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.contrib.search_promotions",
    "wagtail.embeds",
    "wagtail.sites",
    "cms.wagtail_users_config.UsersAppConfig",  # wagtail.users with forms for this user model
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    # Outermost: the request id, one JSON log line and the metrics of every request, including
    # those answered by the page cache or the health check below.
    "cms.observability.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # /healthz answers here, before anything reads the Host header (CommonMiddleware,
    # the page cache), so a load balancer that sends its IP as Host gets JSON, not a 400;
    # ALLOWED_HOSTS still holds for every other path. (SecurityMiddleware above reads the
    # host only to redirect to HTTPS, and production exempts /healthz from that.)
    "cms.health.HealthCheckMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cms.page_cache.AnonymousPageCacheMiddleware",
    "cms.csp.SiteCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "cms.untrusted_input.RefuseNulMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cms.locking.BusyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "cms.middleware.StaffAccessMiddleware",
    # Runs apps' `before_workflow_approval` hooks on Wagtail's workflow action screen.
    "cms.publishing.WorkflowApprovalMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "cms.urls"
WSGI_APPLICATION = "cms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
                "csp.context_processors.nonce",
                "courses.context_processors.statuses",
                "payments.context_processors.statuses",
                "certification.context_processors.statuses",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Immediate transactions take the write lock at BEGIN, so the seat-hold check and insert
    # cannot interleave with another writer (SQLite has no SELECT ... FOR UPDATE).
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# How long a transaction waits for a row lock on PostgreSQL before the person is told "busy,
# try again" (cms.locking). PostgreSQL's interval syntax: "5s", "500ms".
DB_LOCK_TIMEOUT = env("DB_LOCK_TIMEOUT", "5s")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "cms.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
# Certificates, invoices, materials and videos live outside the web root and are served
# only through permission-checked views.
PRIVATE_MEDIA_ROOT = Path(env("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "private_media")))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_MEDIA_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The key that signs Open Badges 3.0 credentials and the revocation list (certification.signing):
# a PEM private key (RSA 2048+ signs RS256; P-256 ES256; Ed25519 EdDSA), as text or as a file.
# Without either, development and tests generate an RSA key once and keep it in
# CE_BADGE_DEV_KEY_FILE; production settings refuse to start without one.
CE_BADGE_SIGNING_KEY = env("CE_BADGE_SIGNING_KEY")
CE_BADGE_SIGNING_KEY_FILE = env("CE_BADGE_SIGNING_KEY_FILE")
CE_BADGE_DEV_KEY_FILE = PRIVATE_MEDIA_ROOT / "keys" / "ce-badge-signing-key.pem"
# After a key change: a file of the old PEM public keys, still published so that badges
# downloaded before the change keep verifying.
CE_BADGE_RETIRED_PUBLIC_KEYS_FILE = env("CE_BADGE_RETIRED_PUBLIC_KEYS_FILE")

AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", "us-east-1")
AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY")
if AWS_STORAGE_BUCKET_NAME:
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": AWS_S3_ENDPOINT_URL,
        "region_name": AWS_S3_REGION_NAME,
        "querystring_auth": True,
        "default_acl": "private",
        "file_overwrite": False,
    }
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
    STORAGES["private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3_options, "location": "private", "querystring_expire": 300},
    }

# Email: every message (cms.email.send_templated_email, and allauth's through EMAIL_BACKEND)
# becomes a row in the outbox (cms.outbox) in the sender's transaction; after commit a Celery
# task sends it with EMAIL_DELIVERY_BACKEND, and the outbox sweep retries what failed.
EMAIL_BACKEND = "cms.email.OutboxEmailBackend"
EMAIL_DELIVERY_BACKEND = env(
    "EMAIL_DELIVERY_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Folder for django.core.mail.backends.filebased.EmailBackend (one file per message).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")
DEFAULT_FROM_EMAIL = env(
    "DEFAULT_FROM_EMAIL", "Heart and Soul of Change Project <training@example.org>"
)

# Celery: with no broker configured, tasks run eagerly in-process.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
# Redis re-delivers a task whose worker died (killed, OOM, host lost) after the visibility
# timeout. Minutes, not hours: just above the default hard time limit, so an ordinary task
# that is still running is never started twice, and a job lost with its worker resumes within
# ~16 minutes. The two tasks allowed to run longer (bulk certificate issue, video
# transcoding) may then get a second copy while the first still runs: bulk issue checkpoints
# per item and only moves progress forward (certification/services/issuing.py), so the
# second copy resumes after the last saved item and never counts twice.
CELERY_VISIBILITY_TIMEOUT = int(env("CELERY_VISIBILITY_TIMEOUT", str(CELERY_TASK_TIME_LIMIT + 60)))
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_TIMEZONE = "UTC"
# Workers and beat log through LOGGING below (JSON in production, with each task's request id)
# instead of Celery replacing the root logger's handlers with its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Exactly one beat: RedBeat keeps the schedule's state in Redis (nothing in the working tree)
# and holds a lock there; a second `celery -A cms beat` waits for the lock instead of sending
# every schedule twice, and takes over within REDBEAT_LOCK_TIMEOUT seconds when the first
# one dies. Without Redis (development) beat falls back to Celery's file scheduler, with its
# file outside the working tree.
REDBEAT_REDIS_URL = env("REDBEAT_REDIS_URL", CELERY_BROKER_URL)
if REDBEAT_REDIS_URL and REDBEAT_REDIS_URL.startswith(("redis://", "rediss://")):
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = REDBEAT_REDIS_URL
    CELERY_REDBEAT_KEY_PREFIX = env("REDBEAT_KEY_PREFIX", "redbeat:cms:")
    CELERY_REDBEAT_LOCK_TIMEOUT = int(env("REDBEAT_LOCK_TIMEOUT", "300"))
    CELERY_BEAT_MAX_LOOP_INTERVAL = 30
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", str(Path.home() / ".cache" / "cms-celerybeat-schedule")
)
CELERY_BEAT_SCHEDULE = {}
# cms: a tick from beat that a worker answers; /healthz reads both ends (cms/celery.py).
CELERY_BEAT_SCHEDULE["cms-heartbeat"] = {"task": "cms.celery.heartbeat", "schedule": 30.0}
# cms: the outbox sweep re-dispatches emails and tasks that are due or whose worker died.
CELERY_BEAT_SCHEDULE["cms-outbox-sweep"] = {"task": "cms.outbox.sweep", "schedule": 60.0}
# cms: pages scheduled in the editor go live (or expire) within a minute of their time.
CELERY_BEAT_SCHEDULE["cms-publish-scheduled"] = {
    "task": "cms.tasks.publish_scheduled_pages",
    "schedule": 60.0,
}
# A failed delivery is retried 1, 2, 4 ... minutes later (at most an hour apart), this many
# times in all; then it is marked failed for staff to see.
OUTBOX_MAX_ATTEMPTS = int(env("OUTBOX_MAX_ATTEMPTS", "10"))
# A row claimed this long ago without being marked sent belonged to a worker that died: above
# CELERY_TASK_TIME_LIMIT, so a delivery still running is not started twice.
OUTBOX_RECLAIM_AFTER = int(env("OUTBOX_RECLAIM_AFTER", "1800"))
# Sent rows keep their idempotency key for good but drop their content after this many days.
OUTBOX_KEEP_PAYLOAD_DAYS = int(env("OUTBOX_KEEP_PAYLOAD_DAYS", "90"))
# courses: holds and waitlist offers expire by themselves; member access lapses.
CELERY_BEAT_SCHEDULE["courses-expire-holds"] = {
    "task": "courses.tasks.expire_holds",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["courses-lapse-memberships"] = {
    "task": "courses.tasks.lapse_memberships",
    "schedule": 3600.0,
}
# payments: settle checkouts whose webhook never arrived; remind and release unpaid invoices.
CELERY_BEAT_SCHEDULE["payments-reconcile-stripe"] = {
    "task": "payments.tasks.reconcile_stripe",
    "schedule": 600.0,
}
CELERY_BEAT_SCHEDULE["payments-overdue-invoices"] = {
    "task": "payments.tasks.process_overdue_invoices",
    "schedule": 3600.0,
}
# payments: membership renewal reminders 30 and 7 days ahead (once each, whenever it runs).
CELERY_BEAT_SCHEDULE["payments-membership-reminders"] = {
    "task": "payments.tasks.send_membership_reminders",
    "schedule": 6 * 3600.0,
}
# trainers: delete demonstration videos a track's retention period after the final decision.
CELERY_BEAT_SCHEDULE["trainers-purge-expired-videos"] = {
    "task": "certification.trainers.tasks.purge_expired_videos",
    "schedule": 86400.0,
}
# trainers: delete tus partial uploads nobody has written to for 24 hours (file and row).
CELERY_BEAT_SCHEDULE["trainers-delete-abandoned-uploads"] = {
    "task": "certification.trainers.tasks.delete_abandoned_uploads",
    "schedule": 3600.0,
}
# Trainer video playback with local storage: "stream" (a Range-capable Django response) or
# "x-accel" (nginx serves TRAINERS_X_ACCEL_PREFIX + the file's name from an internal location).
TRAINERS_VIDEO_DELIVERY = env("TRAINERS_VIDEO_DELIVERY", "stream")
TRAINERS_X_ACCEL_PREFIX = env("TRAINERS_X_ACCEL_PREFIX", "/protected-media/")

# The shared cache fails open (cms/cache_backends.py, the one place that does it): with Redis
# down every read misses and every write is dropped, so pages, `{% cache %}` fragments and the
# page cache render uncached and a warning is logged, instead of every page answering 500.
# Rate limits keep working: their counters (the key prefixes below: allauth's, django-
# ratelimit's, the payment-status throttle) fall back to a per-process local-memory cache, so
# while Redis is down each web process enforces the limits on its own (a visitor spread over
# N processes gets at most N times the limit) rather than nobody enforcing them.
RATELIMIT_CACHE_PREFIX = "rl:"
RATELIMIT_USE_CACHE = "default"
CACHE_LOCAL_FALLBACK_PREFIXES = ["allauth:rl:", RATELIMIT_CACHE_PREFIX, "payments:status-check:"]
CACHES = {
    "default": (
        {
            "BACKEND": "cms.cache_backends.FailOpenRedisCache",
            "LOCATION": env("CACHE_URL"),
            "OPTIONS": {
                "LOCAL_FALLBACK_PREFIXES": CACHE_LOCAL_FALLBACK_PREFIXES,
                # Seconds a process waits before trying an unreachable Redis again.
                "RETRY_AFTER": float(env("CACHE_RETRY_AFTER", "5")),
            },
        }
        if env("CACHE_URL")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Whole-page cache of public content pages for anonymous visitors (cms/page_cache.py):
# 0 turns it off. Event pages keep one copy per live seat count (EventPage.page_cache_variant).
PAGE_CACHE_SECONDS = int(env("PAGE_CACHE_SECONDS", "300"))
PAGE_CACHE_MODELS = [
    "cms.HomePage",
    "cms.StandardPage",
    "cms.NewsIndexPage",
    "cms.ArticlePage",
    "courses.EventPage",
]
# A save in any of these apps can change what a cached page shows, so it starts a new generation.
# The models whose rows are shown on cached pages (besides pages, whose publishing,
# unpublishing, moving and deleting always count). Records written while people use the site
# (bookings, seats, audit and outbox rows, log-ins, revisions, image renditions) are left out
# on purpose: counting them emptied every cache on each hold during a registration rush.
PAGE_CACHE_INVALIDATING_MODELS = [
    "cms.sitesettings",
    "cms.articlepagetag",
    "courses.programme",
    "courses.presenter",
    "courses.eventsession",
    "courses.participantbenefit",
    "courses.tickettype",
    "courses.addon",
    "courses.registrationquestion",
    "certification.accreditingbody",
    "certification.ceoffering",
    "certification.eventcesettings",
    "payments.eventpaymentsettings",
    "wagtailcore.site",
    "wagtailcore.locale",
    "wagtailcore.collection",
    "wagtailcore.pageviewrestriction",
    "wagtailcore.collectionviewrestriction",
    "wagtailimages.image",
    "wagtaildocs.document",
    "taggit.tag",
]

# Wagtail
WAGTAIL_SITE_NAME = "Heart and Soul of Change Project"
WAGTAILADMIN_LOGIN_URL = "/accounts/login/"
# Pages restricted to signed-in visitors send them to allauth, not Wagtail's own login form.
WAGTAIL_FRONTEND_LOGIN_URL = "/accounts/login/"
# No avatars from gravatar.com: the admin must not call any outside host (the CSP blocks it).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# Nor a release check against releases.wagtail.org from the dashboard.
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILUSERS_PASSWORD_ENABLED = False
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAIL_USER_EDIT_FORM = None
WAGTAILIMAGES_EXTENSIONS = ["gif", "jpg", "jpeg", "png", "webp"]

# allauth
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "signup": "20/h/ip",
    "reset_password": "20/m/ip,5/m/key",
}
ACCOUNT_SIGNUP_FORM_CLASS = "cms.forms.ProfileSignupForm"
# No page tells a visitor whether an address has an account (issue 9): password reset
# answers "we have sent you an email" for any address, and sign-up with a taken address (in
# any letter case) shows the same "verify your email" page as a new one, creates nothing, and
# emails the owner how to log in or reset the password
# (templates/account/email/account_already_exists_*.txt).
ACCOUNT_PREVENT_ENUMERATION = True
# Tell people by email when their password or email address changes, so a takeover is noticed.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_ADAPTER = "cms.adapters.AccountAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Heart and Soul of Change Project"

# Content-Security-Policy: no inline scripts, nothing loaded from another host. Sent by
# cms.csp.SiteCSPMiddleware, which relaxes script-src for the Wagtail admin only (see there).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        # No site page may be framed, by anyone (as X-Frame-Options: DENY says). Only the
        # Wagtail admin's own preview frames get 'self' (see cms.csp).
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Stripe: card payment appears only when a secret key is configured.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
# courses links a non-free booking to this view; courses never imports payments.
COURSES_CHECKOUT_URL_NAME = "payments:checkout"
# Points the real stripe SDK at another server speaking Stripe's API (the tests' fake Stripe).
STRIPE_API_BASE = env("STRIPE_API_BASE")

# Operations (cms.health, cms.metrics, cms.observability) ---------------------------------
# Errors go by email to ADMINS ("Name <a@example.org>, b@example.org") when it is set, and to
# Sentry when SENTRY_DSN is set (production settings initialise sentry-sdk only then).
ADMINS = getaddresses([env("ADMINS", "")]) if env("ADMINS") else []
ADMINS = [(name or address, address) for name, address in ADMINS if address]
SERVER_EMAIL = env("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
SENTRY_DSN = env("SENTRY_DSN")
# GET /metrics (Prometheus text) with "Authorization: Bearer <METRICS_TOKEN>"; 404 when unset.
METRICS_TOKEN = env("METRICS_TOKEN")
# /healthz turns "degraded" when the worker's heartbeat or beat's last tick is older than this,
# or when the oldest pending outbox row or unprocessed webhook is older than the backlog limit.
HEALTH_WORKER_STALE_SECONDS = int(env("HEALTH_WORKER_STALE_SECONDS", "90"))
HEALTH_BEAT_STALE_SECONDS = int(env("HEALTH_BEAT_STALE_SECONDS", "120"))
HEALTH_BACKLOG_STALE_SECONDS = int(env("HEALTH_BACKLOG_STALE_SECONDS", "900"))
# Backlogs that /healthz and /metrics measure: model label, "done" field (null = pending) and
# the time field its age counts from. Read with apps.get_model, so cms imports no other app.
HEALTH_BACKLOGS = {
    "webhooks": ("payments.WebhookEvent", "processed_at", "received_at"),
}
# Production settings set this; load_demo refuses to run there without --i-know.
IS_PRODUCTION = False

# LOG_FORMAT=json writes one JSON object per line (timestamp, level, logger, message,
# request_id, user_id, path, status, duration_ms ...); "text" is for a developer's terminal.
LOG_FORMAT = env("LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "cms.observability.RequestContextFilter"}},
    "formatters": {
        "json": {"()": "cms.observability.JsonFormatter"},
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        },
        # Sent straight through the delivery backend, not the outbox: an error report must
        # not depend on the database that may be what failed.
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["request_context"],
            "email_backend": EMAIL_DELIVERY_BACKEND,
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {
            "level": "ERROR",
            "handlers": ["console", "mail_admins"] if ADMINS else ["console"],
            "propagate": False,
        },
        # WeasyPrint logs every layout step at INFO; only its warnings matter.
        "weasyprint": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
