"""Content pages: fragments that are the same for every visitor (navigation, upcoming events,
latest news, the event schedule) are cached under the content generation, so a publish,
unpublish or move shows at once; a signed-in member's home page costs a fixed number of
queries however much content there is (counted, never timed)."""

import html as html_lib
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, PageViewRestriction, Site

from cms.factories import ArticlePageFactory, NewsIndexPageFactory, StandardPageFactory
from cms.models import SiteSettings
from courses.factories import UserFactory, make_event

pytestmark = pytest.mark.django_db

# At most: the site, routing, view restrictions (read twice, one query each), session, user.
# Site settings, navigation, upcoming events, latest news and whether the header offers the
# member the admin link (cms.admin_link) come from the cache once read.
SIGNED_IN_HOME_QUERIES = 6


def _text(response):
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site():
    """A home page with an events index (made with the first event) and a news index."""
    make_event(title="Supervision Intensive")
    home = Site.objects.get(is_default_site=True).root_page.specific
    news = NewsIndexPageFactory(parent=home)
    ArticlePageFactory(parent=news, title="Outcome Rating Scale explained")
    return home, news


def _home(client):
    response = client.get("/")
    assert response.status_code == 200
    return _text(response)


def test_a_published_article_shows_on_the_home_page_at_once(client, site):
    home, news = site
    assert "Outcome Rating Scale explained" in _home(client)
    assert "Routine outcome monitoring in practice" not in _home(client)  # cached now

    article = ArticlePageFactory(parent=news, title="Routine outcome monitoring in practice")
    article.save_revision().publish()

    assert "Routine outcome monitoring in practice" in _home(client)
    article.unpublish()
    assert "Routine outcome monitoring in practice" not in _home(client)


def test_a_published_event_shows_in_upcoming_events_at_once(client, site):
    assert "Supervision Intensive" in _home(client)
    assert "Deliberate Practice Workshop" not in _home(client)

    event = make_event(title="Deliberate Practice Workshop", days=1)
    event.save_revision().publish()

    assert "Deliberate Practice Workshop" in _home(client)


def test_a_new_menu_page_shows_in_the_navigation_at_once(client, site):
    home, _news = site
    assert "About the project" not in _home(client)

    page = StandardPageFactory(parent=home, title="About the project", show_in_menus=True)
    page.save_revision().publish()

    response = client.get("/")
    assert f'href="{page.url}"' in response.content.decode()
    assert "About the project" in _text(response)
    page.get_latest_revision_as_object()
    page.move(page.get_parent().get_children().first(), pos="right")  # a move, same menu
    assert "About the project" in _home(client)
    page.delete()
    assert "About the project" not in _home(client)


def test_an_edited_schedule_shows_on_the_event_page_at_once(client, site):
    event = make_event(title="Two-day Intensive", days=2)
    assert "Day 2" in _text(client.get(event.url))

    draft = event.get_latest_revision_as_object()
    sessions = list(draft.sessions.all())
    sessions[1].title = "Supervision clinic"
    draft.sessions = sessions
    draft.save_revision().publish()
    assert set(event.sessions.values_list("title", flat=True)) == {"Day 1", "Supervision clinic"}

    text = _text(client.get(event.url))
    assert "Supervision clinic" in text
    assert "Day 2" not in text


def _queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_signed_in_home_page_queries_stay_flat_as_content_grows(client, site):
    _home_page, news = site
    client.force_login(UserFactory())
    client.get("/")  # the first visitor after a change renders the fragments
    small = _queries(client, "/")

    for n in range(8):
        ArticlePageFactory(parent=news, title=f"Practice note {n}")
        make_event(title=f"Workshop {n}")
    client.get("/")
    large = _queries(client, "/")

    assert small == large <= SIGNED_IN_HOME_QUERIES
    assert "Practice note 7" in _home(client)


def test_view_restrictions_still_apply_and_cost_one_query(client, site):
    home, news = site
    members_only = StandardPageFactory(parent=home, title="Members area")
    inner = StandardPageFactory(parent=members_only, title="Practice resources")
    restriction = PageViewRestriction.objects.create(
        page=members_only, restriction_type=PageViewRestriction.LOGIN
    )
    alias = inner.create_alias(parent=news, update_slug="resources-alias")

    assert list(inner.get_view_restrictions()) == [restriction]
    for page in (inner, alias, members_only, news):
        # The same rows as Wagtail's own two-query answer (an alias answers with its source).
        assert list(page.get_view_restrictions()) == list(Page.get_view_restrictions(page))
    with CaptureQueriesContext(connection) as captured:
        list(inner.get_view_restrictions())
    assert len(captured.captured_queries) == 1
    assert list(news.get_view_restrictions()) == []

    response = client.get(inner.url)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(UserFactory())
    assert "Practice resources" in _text(client.get(inner.url))


def test_changed_site_settings_show_at_once(client, site):
    assert "Heart and Soul of Change Project" in _home(client)

    settings_row = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    settings_row.organisation_name = "Heart and Soul of Change Institute"
    settings_row.footer_text = "Training for counsellors since 2006."
    settings_row.save()

    text = _home(client)
    assert "Heart and Soul of Change Institute" in text
    assert "Training for counsellors since 2006." in text
