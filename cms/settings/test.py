"""The test suite: fast hashing, in-memory email, eager Celery."""

from .base import *

DEBUG = False
SECRET_KEY = "test-only-secret-key"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_BROKER_URL = None
CELERY_TASK_ALWAYS_EAGER = True
CELERY_RESULT_BACKEND = None
MEDIA_ROOT = BASE_DIR / ".test-media" / "public"
PRIVATE_MEDIA_ROOT = BASE_DIR / ".test-media" / "private"
STORAGES["private"]["OPTIONS"]["location"] = str(PRIVATE_MEDIA_ROOT)
# One generated badge-signing key for every test run (each test's private folder is fresh).
CE_BADGE_DEV_KEY_FILE = BASE_DIR / ".test-media" / "ce-badge-signing-key.pem"
ALLOWED_HOSTS = ["*"]
WAGTAILADMIN_BASE_URL = "http://testserver"
LOGGING["root"]["level"] = "WARNING"
LOGGING["handlers"]["mail_admins"]["email_backend"] = EMAIL_DELIVERY_BACKEND
LOGGING["loggers"]["cms.request"] = {"level": "WARNING"}
# Tests see every change at once; tests of the page cache turn it on themselves.
PAGE_CACHE_SECONDS = 0
