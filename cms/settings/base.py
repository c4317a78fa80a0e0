"""Settings shared by every environment; each value that differs comes from the environment."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name, default=None):
    """Read one setting from the environment; empty strings count as unset."""
    value = os.environ.get(name, "")
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
    "django.middleware.security.SecurityMiddleware",
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
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery: with no broker configured, tasks run eagerly in-process.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 900
# Redis re-delivers unacknowledged tasks after the visibility timeout: keep it above the
# longest hard time limit (video transcoding) so a running task is not started twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 7200}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {}
# cms: the outbox sweep re-dispatches emails and tasks that are due or whose worker died.
CELERY_BEAT_SCHEDULE["cms-outbox-sweep"] = {"task": "cms.outbox.sweep", "schedule": 60.0}
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

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("CACHE_URL")}
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
PAGE_CACHE_INVALIDATING_APPS = [
    "cms",
    "courses",
    "wagtailcore",
    "wagtailimages",
    "wagtaildocs",
    "taggit",
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # WeasyPrint logs every layout step at INFO; only its warnings matter.
        "weasyprint": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
