"""Editors write and publish news in the Wagtail admin, and edit the site settings there."""

import pytest
from django.contrib.auth.models import Group
from wagtail.models import Site
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from cms.factories import NewsIndexPageFactory, home_page
from cms.models import ArticlePage, SiteSettings
from tests.accounts_support import log_in_with_totp, make_staff_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    editor, secret = make_staff_with_totp(email="editor@example.org", legal_name="Eda Editor")
    editor.groups.add(Group.objects.get(name="Editor"))
    log_in_with_totp(client, editor.email, secret)
    return client


def test_editor_publishes_an_article_that_readers_then_see(editor_client, client):
    news = NewsIndexPageFactory(parent=home_page())
    data = nested_form_data(
        {
            "title": "Feedback in supervision",
            "slug": "feedback-in-supervision",
            "author": "Scott Miller",
            "date": "2015-03-16",
            "introduction": "What changes when supervisors use client feedback.",
            "body": streamfield(
                [("paragraph", rich_text("<p>Supervision starts with the view of the client.</p>"))]
            ),
            "tags": "supervision, feedback",
            "action-publish": "publish",
        }
    )

    response = editor_client.post(f"/admin/pages/add/cms/articlepage/{news.pk}/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    article = ArticlePage.objects.get(slug="feedback-in-supervision")
    assert article.live
    assert sorted(tag.name for tag in article.tags.all()) == ["feedback", "supervision"]
    editor_client.logout()
    html = client.get("/news/feedback-in-supervision/").content.decode()
    assert "Supervision starts with the view of the client." in html
    assert "Scott Miller" in html


def test_editor_changes_the_contact_email_shown_in_the_footer(editor_client, client):
    home_page()
    site = Site.objects.get(is_default_site=True)
    url = f"/admin/settings/cms/sitesettings/{site.pk}/"
    form = editor_client.get(url)
    assert form.status_code == 200

    response = editor_client.post(
        url,
        {
            "organisation_name": "Heart and Soul of Change Project",
            "contact_email": "hello@example.org",
            "phone": "",
            "postal_address": "",
            "footer_text": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert SiteSettings.for_site(site).contact_email == "hello@example.org"
    editor_client.logout()
    assert 'href="mailto:hello@example.org"' in client.get("/").content.decode()
