"""Pages for visitors the whole-page cache never serves (a signed-in member, a first visit after
a change): what is the same for everyone is kept under the content generation, so each visit
pays for its own parts only, in a fixed number of queries, and a publish still shows at once.
(Counted, never timed: the timings are `make bench`'s pages benchmark.)"""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms.factories import ArticlePageFactory, NewsIndexPageFactory, home_page
from courses import services
from courses.factories import PresenterFactory, UserFactory, make_event

pytestmark = pytest.mark.django_db

# A signed-in member's event page (10): the session and the account; the site and the page
# tree's routing (5, as for any Wagtail page); the view restrictions Wagtail checks before
# serving; the seats left; the member's own registration. Nothing for the schedule,
# presenters, picture, CE or whether a free ticket can be taken in one step (a required
# question): those are kept under the content generation.
SIGNED_IN_EVENT_PAGE_QUERIES = 10
# An article for the first visitor after a change (7): the site, routing (5), the view
# restrictions. Nothing for its tags, picture or news index.
ARTICLE_QUERIES = 7


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _text(response):
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _counted(client, url):
    client.get(url)  # the fragments and per-process caches are warm, as for any later visit
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response, [query["sql"] for query in captured.captured_queries]


def test_a_signed_in_members_event_page_costs_a_fixed_number_of_queries(client):
    small = make_event(days=1)
    big = make_event(days=30, title="Thirty sessions")
    big.presenters.set([PresenterFactory(), PresenterFactory(name="Scott Miller")])
    big.save_revision().publish()
    client.force_login(UserFactory())

    _, small_queries = _counted(client, small.url)
    response, big_queries = _counted(client, big.url)

    assert len(small_queries) == len(big_queries) == SIGNED_IN_EVENT_PAGE_QUERIES, big_queries
    text = _text(response)
    assert text.count("CE-eligible: 360 minutes") == 30
    assert "Scott Miller" in text
    assert "30 seats left." in text


def test_the_member_sees_their_own_registration_and_the_next_member_does_not(client):
    event = make_event(capacity=30)
    registered, other = UserFactory(), UserFactory()
    booking = services.place_hold(
        event=event, purchaser=registered, tickets={event.ticket_types.get().pk: 1}
    )
    services.confirm_registrations(booking)

    client.force_login(registered)
    mine = _text(client.get(event.url))
    client.force_login(other)
    theirs = _text(client.get(event.url))

    assert "You're registered for this event." in mine
    assert "You're registered for this event." not in theirs
    # The same shared schedule for both, and the seat count of the moment for each.
    assert "29 seats left." in theirs
    assert mine.count("Day 1") == theirs.count("Day 1") >= 1


def test_a_publish_shows_at_once_to_a_signed_in_member(client):
    event = make_event(venue_name="Old Hall")
    client.force_login(UserFactory())
    assert "Old Hall" in _text(client.get(event.url))

    event.venue_name = "Riverside Centre"
    event.summary = "Now by the river."
    event.save_revision().publish()

    text = _text(client.get(event.url))
    assert "Riverside Centre" in text and "Now by the river." in text
    assert "Old Hall" not in text


def test_the_first_visitor_after_a_change_reads_an_article_in_a_fixed_number_of_queries(client):
    news = NewsIndexPageFactory(parent=home_page())
    article = ArticlePageFactory(parent=news, title="The Therapeutic Alliance")
    article.tags.add("alliance", "outcomes")
    article.save_revision().publish()
    url = article.url + "?utm_source=newsletter"  # a query string: never the whole-page cache

    response, queries = _counted(client, url)

    assert len(queries) == ARTICLE_QUERIES, queries
    text = _text(response)
    assert "The Therapeutic Alliance" in text and "outcomes" in text

    article.title = "The Therapeutic Alliance, revisited"
    article.save_revision().publish()
    assert "The Therapeutic Alliance, revisited" in _text(client.get(url))
