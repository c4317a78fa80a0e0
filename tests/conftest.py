"""Fixtures every test may use: isolated media, a member, staff per role with a second factor.

Builders that take arguments live in tests/accounts_support.py (people) and
courses.factories / certification.factories (events, registrations, CE setup).
"""

import shutil

import pytest
from django.conf import settings

from tests.accounts_support import log_in_with_second_factor, make_member, make_staff_in_role


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Each test writes uploaded and generated files into its own folder."""
    settings.MEDIA_ROOT = tmp_path / "public"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    yield
    shutil.rmtree(tmp_path, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL's row locks; skip them on SQLite."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def member(db):
    """A signed-up attendee with a verified email (not signed in)."""
    return make_member()


@pytest.fixture
def staff_signed_in(client, db):
    """Sign `client` in as staff holding `role`, having entered the authenticator code.

    Usage: `manager = staff_signed_in(cms.roles.EVENT_MANAGER)`; pass `email=` for
    a second staff member in the same test.
    """

    def sign_in(role, email="staff@example.org", legal_name="Sam Staff"):
        user = make_staff_in_role(role, email=email, legal_name=legal_name)
        log_in_with_second_factor(client, user)
        return user

    return sign_in
