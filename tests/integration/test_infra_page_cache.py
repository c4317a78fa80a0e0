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


@pytest.fixture
def event():
    from courses.factories import make_event

    return make_event(title="FIT Supervision Training", capacity=5)


def test_bookings_log_ins_and_records_keep_the_shared_copies(client, page_cache, event, article):
    from cms.models import SiteSettings
    from cms.page_cache import generation
    from courses import services
    from courses.factories import UserFactory

    assert "The Therapeutic Alliance" in client.get(article.url).content.decode()
    before = generation()

    # What people do all day writes rows: none of them changes what a cached page shows.
    buyer = UserFactory()
    booking = services.place_hold(
        event=event, purchaser=buyer, tickets={event.ticket_types.get().pk: 1}
    )
    services.confirm_registrations(booking, actor=buyer)
    client.force_login(buyer)
    client.logout()
    assert generation() == before
    with CaptureQueriesContext(connection) as queries:
        client.get(article.url)
    assert len(queries.captured_queries) == 0, [q["sql"][:150] for q in queries.captured_queries]

    # Content does: the site's settings, a deleted page.
    settings_row = SiteSettings.for_site(article.get_site())
    settings_row.save()
    assert generation() > before
    changed = generation()
    article.delete()
    assert generation() > changed


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


# -- Redis down: pages render uncached, rate limits keep holding ------------------------------


@pytest.fixture
def redis_down(settings):
    """The shared cache on a closed port (loopback port 1 refuses at once)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "cms.cache_backends.FailOpenRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"LOCAL_FALLBACK_PREFIXES": settings.CACHE_LOCAL_FALLBACK_PREFIXES},
        }
    }
    settings.PAGE_CACHE_SECONDS = 300
    yield


def test_with_redis_down_the_page_renders_uncached_and_a_warning_is_logged(
    client, article, redis_down, caplog
):
    with caplog.at_level("WARNING", logger="cms.cache_backends"):
        first = client.get(article.url)
        with CaptureQueriesContext(connection) as queries:
            second = client.get(article.url)
    assert first.status_code == 200
    assert second.status_code == 200
    assert "The Therapeutic Alliance" in second.content.decode()
    assert len(queries.captured_queries) > 0  # rendered again: nothing was cached
    warnings = [r for r in caplog.records if r.name == "cms.cache_backends"]
    assert warnings and "Cache unavailable" in warnings[0].getMessage()


def test_with_redis_down_cache_fragments_render(redis_down):
    from django.template import engines

    template = engines["django"].from_string(
        "{% load cache %}{% cache 60 sidebar %}Upcoming events{% endcache %}"
    )
    assert template.render({}) == "Upcoming events"
    assert template.render({}) == "Upcoming events"


def test_with_redis_down_login_rate_limit_still_holds_per_process(client, redis_down, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    for _attempt in range(2):
        response = client.post("/accounts/login/", {"login": "a@example.org", "password": "x"})
        assert response.status_code == 200
    response = client.post("/accounts/login/", {"login": "a@example.org", "password": "x"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
