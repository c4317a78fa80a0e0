"""The anonymous page cache: shared copies of public content pages, never of personal ones."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.factories import ArticlePageFactory, NewsIndexPageFactory, home_page
from cms.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_cache(settings):
    from django.core.cache import cache

    cache.clear()
    settings.PAGE_CACHE_SECONDS = 300
    yield
    cache.clear()


@pytest.fixture
def article():
    home = home_page()
    news = NewsIndexPageFactory(parent=home)
    return ArticlePageFactory(
        parent=news, title="The Therapeutic Alliance", introduction="Why the alliance matters."
    )


def test_second_anonymous_visit_is_served_without_touching_the_database(
    client, page_cache, article
):
    first = client.get(article.url)
    assert "The Therapeutic Alliance" in first.content.decode()
    with CaptureQueriesContext(connection) as queries:
        second = client.get(article.url)
    assert len(queries.captured_queries) == 0
    assert second.status_code == 200
    assert second.content == first.content
    assert "default-src 'self'" in second.headers["Content-Security-Policy"]


def test_publishing_a_change_shows_at_once(client, page_cache, article):
    assert "The Therapeutic Alliance" in client.get(article.url).content.decode()
    article.title = "The Therapeutic Alliance, revisited"
    article.save_revision().publish()
    assert "The Therapeutic Alliance, revisited" in client.get(article.url).content.decode()


def test_signed_in_member_never_gets_the_shared_copy(client, page_cache, article):
    client.get(article.url)
    member = User.objects.create_user(
        email="zoe@example.org", password="a long passphrase 42", preferred_name="Zoë"
    )
    client.force_login(member)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(article.url)
    assert response.status_code == 200
    assert len(queries.captured_queries) > 0


def test_pages_with_a_query_string_are_rendered_each_time(client, page_cache, article):
    client.get(article.url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(article.url + "?utm_source=newsletter")
    assert "The Therapeutic Alliance" in response.content.decode()
    assert len(queries.captured_queries) > 0


def test_cache_off_renders_every_time(client, settings, article):
    settings.PAGE_CACHE_SECONDS = 0
    client.get(article.url)
    with CaptureQueriesContext(connection) as queries:
        client.get(article.url)
    assert len(queries.captured_queries) > 0


def test_restricted_page_is_never_shared(client, page_cache, article):
    from wagtail.models import PageViewRestriction

    PageViewRestriction.objects.create(
        page=article, restriction_type=PageViewRestriction.PASSWORD, password="alliance"
    )
    client.get(article.url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(article.url)
    assert "The Therapeutic Alliance" not in response.content.decode()
    assert len(queries.captured_queries) > 0
