"""The site shell every page shares: a page with no description of its own describes the
organisation (its footer line), and the search page describes itself."""

import re

import pytest
from wagtail.models import Site

from cms.models import SiteSettings

pytestmark = pytest.mark.django_db


def _meta_description(response):
    found = re.search(r'<meta name="description" content="([^"]*)">', response.content.decode())
    return found.group(1) if found else None


def test_pages_without_their_own_description_describe_the_organisation(client):
    settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    settings.footer_text = "Training and certification in feedback-informed treatment."
    settings.save()

    assert _meta_description(client.get("/accounts/login/")) == (
        "Training and certification in feedback-informed treatment."
    )
    assert _meta_description(client.get("/search/")) == (
        "Search the site's pages, articles and events."
    )
