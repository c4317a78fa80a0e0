"""No page may be framed (`frame-ancestors 'none'`), except the admin's own preview panel."""

import pytest
from django.core.cache import cache
from wagtail.models import Site

from tests.accounts_support import log_in_with_totp, make_staff_with_totp

pytestmark = pytest.mark.django_db


def frame_ancestors(response):
    for directive in response["Content-Security-Policy"].split(";"):
        name, _, value = directive.strip().partition(" ")
        if name == "frame-ancestors":
            return value
    raise AssertionError(response["Content-Security-Policy"])


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def test_public_pages_may_not_be_framed(client):
    home = client.get("/")
    assert home.status_code == 200
    assert frame_ancestors(home) == "'none'"
    assert home["X-Frame-Options"] == "DENY"

    login = client.get("/accounts/login/")
    assert frame_ancestors(login) == "'none'"


def test_only_the_admin_preview_panel_may_be_framed_by_the_admin(client):
    user, secret = make_staff_with_totp(email="editor@example.org", is_superuser=True)
    assert log_in_with_totp(client, user.email, secret).status_code == 200

    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert frame_ancestors(dashboard) == "'none'"

    page = Site.objects.get(is_default_site=True).root_page
    edit = client.get(f"/admin/pages/{page.pk}/edit/")
    assert edit.status_code == 200
    assert frame_ancestors(edit) == "'none'"

    # The live preview beside the editor is an iframe of this same site.
    preview = client.get(f"/admin/pages/{page.pk}/edit/preview/?in_preview_panel=true")
    assert preview.status_code == 200
    assert preview["X-Frame-Options"] == "SAMEORIGIN"
    assert frame_ancestors(preview) == "'self'"
