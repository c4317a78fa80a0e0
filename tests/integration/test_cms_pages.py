"""The public site: home, news, articles, search, sitemap, robots.txt, feeds and error pages."""

import datetime
import json
import re

import pytest
from django.test import override_settings

from cms.factories import (
    ArticlePageFactory,
    NewsIndexPageFactory,
    StandardPageFactory,
    home_page,
    paragraphs,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def home():
    return home_page(title="Welcome to the Heart and Soul of Change Project")


@pytest.fixture
def news(home):
    return NewsIndexPageFactory(parent=home, show_in_menus=True)


@pytest.fixture
def article(news):
    return ArticlePageFactory(
        parent=news,
        title="The Therapeutic Alliance",
        slug="the-therapeutic-alliance",
        author="Zoë Ñúñez",
        date=datetime.date(2014, 12, 1),
        introduction="Why the alliance predicts outcome.",
        body=paragraphs(
            "Most school children have heard the riddle.",
            "We may never know which came first, the chicken or the egg.",
        ),
        tags=["feedback", "alliance"],
    )


def json_ld(html):
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "the page has no JSON-LD block"
    return json.loads(match.group(1))


def test_home_page_shows_introduction_navigation_and_latest_news(client, home, news, article):
    ArticlePageFactory(parent=news, title="An older note", date=datetime.date(2013, 1, 5))

    response = client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 id="home-title">Welcome to the Heart and Soul of Change Project</h1>' in html
    assert "Training and continuing education for helping professionals." in html
    # Latest news, newest first, each linking to its article.
    assert html.index("The Therapeutic Alliance") < html.index("An older note")
    assert 'href="/news/the-therapeutic-alliance/"' in html
    # The news index is in the main navigation because it is shown in menus.
    nav = html[html.index('id="site-nav"') : html.index("</nav>", html.index('id="site-nav"'))]
    assert 'href="/news/"' in nav
    assert "Log in" in html and "Sign up" in html


def test_article_page_shows_full_text_byline_and_topics(client, article):
    response = client.get("/news/the-therapeutic-alliance/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>The Therapeutic Alliance</h1>" in html
    assert "Most school children have heard the riddle." in html
    assert "We may never know which came first, the chicken or the egg." in html
    assert "Zoë Ñúñez" in html
    assert '<time datetime="2014-12-01">1 December 2014</time>' in html
    assert "/news/?tag=feedback" in html


def test_article_json_ld_names_headline_author_and_date(client, article):
    html = client.get("/news/the-therapeutic-alliance/").content.decode()

    data = json_ld(html)
    assert data["@type"] == "Article"
    assert data["headline"] == "The Therapeutic Alliance"
    assert data["author"] == {"@type": "Person", "name": "Zoë Ñúñez"}
    assert data["datePublished"] == "2014-12-01"
    assert data["mainEntityOfPage"].endswith("/news/the-therapeutic-alliance/")
    assert sorted(data["keywords"]) == ["alliance", "feedback"]


def test_html_in_title_and_author_is_shown_as_text(client, news):
    ArticlePageFactory(
        parent=news,
        title="<script>alert('title')</script> Alliance",
        slug="html-title",
        author="<b>Mallory</b></script><script>alert(1)</script>",
    )

    html = client.get("/news/html-title/").content.decode()

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt; Alliance" in html
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in html
    # Inside the data block the markup is JSON-escaped, and still reads back exactly.
    assert "\\u003C/script\\u003E" in html
    data = json_ld(html)
    assert data["author"]["name"] == "<b>Mallory</b></script><script>alert(1)</script>"
    assert data["headline"] == "<script>alert('title')</script> Alliance"


def test_news_index_lists_articles_and_filters_by_tag(client, news, article):
    ArticlePageFactory(parent=news, title="Unrelated news", tags=["conference"])

    everything = client.get("/news/").content.decode()
    tagged = client.get("/news/?tag=feedback").content.decode()

    assert "The Therapeutic Alliance" in everything and "Unrelated news" in everything
    assert "The Therapeutic Alliance" in tagged
    assert "Unrelated news" not in tagged
    assert "Showing articles tagged &ldquo;feedback&rdquo;" in tagged


def test_news_index_paginates(client, news):
    for number in range(12):
        ArticlePageFactory(
            parent=news, title=f"Bulletin {number:02d}", date=datetime.date(2020, 1, number + 1)
        )

    first = client.get("/news/").content.decode()
    second = client.get("/news/?page=2").content.decode()
    out_of_range = client.get("/news/?page=99").content.decode()

    assert "Bulletin 11" in first and "Bulletin 00" not in first
    assert "Bulletin 00" in second and "Bulletin 11" not in second
    assert 'href="?page=2"' in first
    assert "Bulletin 00" in out_of_range


def test_standard_page_renders_body(client, home):
    StandardPageFactory(
        parent=home,
        title="About the project",
        slug="about",
        body=paragraphs("We help therapists listen to their clients."),
    )

    html = client.get("/about/").content.decode()

    assert "<h1>About the project</h1>" in html
    assert "We help therapists listen to their clients." in html


def test_search_finds_the_article_and_paginates(client, article):
    response = client.get("/search/", {"query": "riddle"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 result for “riddle”" in html
    assert 'href="/news/the-therapeutic-alliance/"' in html
    assert "Why the alliance predicts outcome." in html


def test_search_also_reads_q_as_other_search_boxes_send_it(client, article):
    html = client.get("/search/", {"q": "riddle"}).content.decode()

    assert "1 result for “riddle”" in html
    assert 'href="/news/the-therapeutic-alliance/"' in html


def test_search_without_matches_says_what_to_do(client, article):
    html = client.get("/search/", {"query": "zebrafish"}).content.decode()

    assert "0 results for “zebrafish”" in html
    assert "Try fewer or different words" in html


def test_search_query_is_escaped(client, home):
    html = client.get("/search/", {"query": "<img src=x onerror=alert(1)>"}).content.decode()

    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_sitemap_lists_home_and_article(client, article):
    response = client.get("/sitemap.xml")

    xml = response.content.decode()
    assert response.status_code == 200
    assert "/news/the-therapeutic-alliance/</loc>" in xml
    assert "/news/</loc>" in xml


def test_robots_txt_points_to_the_sitemap(client):
    response = client.get("/robots.txt")

    text = response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert "Disallow: /admin/" in text
    assert "Sitemap: http://testserver/sitemap.xml" in text


def test_rss_and_atom_feeds_contain_the_article(client, article):
    rss = client.get("/feed/")
    atom = client.get("/feed/atom/")

    assert rss["Content-Type"].startswith("application/rss+xml")
    assert "<title>The Therapeutic Alliance</title>" in rss.content.decode()
    assert "http://testserver/news/the-therapeutic-alliance/" in rss.content.decode()
    assert atom["Content-Type"].startswith("application/atom+xml")
    assert "<title>The Therapeutic Alliance</title>" in atom.content.decode()
    assert "<name>Zoë Ñúñez</name>" in atom.content.decode()


def test_feed_is_linked_from_every_page_head(client, home):
    html = client.get("/").content.decode()

    head = html[: html.index("</head>")]
    assert 'type="application/rss+xml"' in head and 'href="/feed/"' in head


def test_unknown_url_shows_the_friendly_404(client, home):
    response = client.get("/no-such-page/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "We can't find that page" in html
    assert "/no-such-page/" in html
    assert "Traceback" not in html


def test_500_page_renders_without_the_database(rf, django_assert_num_queries):
    from cms.views import server_error

    with django_assert_num_queries(0):
        response = server_error(rf.get("/"))

    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in response.content.decode()


@override_settings(DEBUG=False)
def test_an_error_in_a_view_shows_the_500_page(client, home, monkeypatch):
    from cms.models import HomePage

    def broken(self, request, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(HomePage, "get_context", broken)
    client.raise_request_exception = False

    response = client.get("/")

    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in response.content.decode()


@pytest.mark.parametrize("url", ["/", "/news/the-therapeutic-alliance/"])
def test_public_pages_stay_within_the_query_budget(
    client, article, url, django_assert_max_num_queries
):
    """The benchmark's budget is 12 SQL queries per page for an anonymous reader."""
    client.get(url)  # Wagtail caches the site's root paths on the first request.

    with django_assert_max_num_queries(12):
        response = client.get(url)

    assert "The Therapeutic Alliance" in response.content.decode()


def test_header_and_footer_show_the_site_settings(client, home):
    from wagtail_factories import ImageFactory

    from cms.models import SiteSettings

    site_settings = SiteSettings.objects.get()
    site_settings.organisation_name = "Heart & Soul of Change"
    site_settings.logo = ImageFactory(title="Logo")
    site_settings.contact_email = "training@example.org"
    site_settings.phone = "+1 555 010 0142"
    site_settings.postal_address = "PO Box 1\nJensen Beach, FL"
    site_settings.footer_text = "Feedback-informed treatment for everyone."
    site_settings.save()

    html = client.get("/").content.decode()

    header = html[html.index("<header") : html.index("</header>")]
    footer = html[html.index('<footer class="site-footer">') :]
    assert "Heart &amp; Soul of Change" in header
    assert re.search(
        r'<img[^>]+alt=""[^>]+class="site-header__logo"|<img[^>]+class="site-header__logo"[^>]+alt=""',
        header,
    )
    assert 'href="mailto:training@example.org"' in footer
    assert "+1 555 010 0142" in footer
    assert "PO Box 1\nJensen Beach, FL" in footer
    assert "Feedback-informed treatment for everyone." in footer


def test_navigation_marks_the_current_section(client, article):
    html = client.get("/news/the-therapeutic-alliance/").content.decode()

    assert '<a href="/news/" aria-current="true">News</a>' in html


def test_signed_in_reader_sees_their_name_and_account_links(client, home):
    from cms.models import User

    user = User.objects.create_user(
        email="zoe@example.org", password="x-Secret-123", legal_name="Zoë <b>Ñúñez</b>"
    )
    client.force_login(user)

    html = client.get("/").content.decode()

    assert "Signed in as <strong>Zoë &lt;b&gt;Ñúñez&lt;/b&gt;</strong>" in html
    assert ">Account</a>" in html and "Log out" in html
    assert "Sign up" not in html


def test_every_body_block_renders(client, home):
    from wagtail_factories import ImageFactory

    image = ImageFactory(title="Workshop")
    StandardPageFactory(
        parent=home,
        title="Blocks",
        slug="blocks",
        body=[
            ("heading", {"text": "Why feedback", "level": "h2"}),
            ("heading", {"text": "In practice", "level": "h3"}),
            ("paragraph", paragraphs("Ask every session.")[0][1]),
            ("image", {"image": image, "alt_text": "Trainers at work", "caption": "Florida"}),
            ("quote", {"quote": "Clients know best.", "attribution": "A trainer"}),
            (
                "call_to_action",
                {
                    "heading": "Join us",
                    "text": "Register now.",
                    "page": home,
                    "external_url": "",
                    "button_label": "See events",
                },
            ),
        ],
    )

    html = client.get("/blocks/").content.decode()

    assert "<h2>Why feedback</h2>" in html and "<h3>In practice</h3>" in html
    assert "<p>Ask every session.</p>" in html
    assert 'alt="Trainers at work"' in html and "<figcaption>Florida</figcaption>" in html
    assert "Clients know best." in html and "A trainer" in html
    assert '<a class="btn btn--primary" href="/">See events</a>' in html


def test_permission_denied_page_tells_a_visitor_to_log_in(rf, home):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied
    from django.views.defaults import permission_denied

    request = rf.get("/certification/secret/")
    request.user = AnonymousUser()

    response = permission_denied(request, PermissionDenied())

    html = response.content.decode()
    assert response.status_code == 403
    assert "You don't have access to this page" in html
    assert 'href="/accounts/login/?next=/certification/secret/"' in html


def test_an_expired_form_explains_how_to_send_it_again(home):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"login": "a@example.org", "password": "x"}
    )

    assert response.status_code == 403
    assert "Please send the form again" in response.content.decode()


def test_search_results_are_paginated_and_keep_the_query(client, news):
    for number in range(12):
        ArticlePageFactory(parent=news, title=f"Outcome bulletin {number:02d}")

    first = client.get("/search/", {"query": "bulletin"}).content.decode()
    second = client.get("/search/", {"query": "bulletin", "page": "2"}).content.decode()
    not_a_number = client.get("/search/", {"query": "bulletin", "page": "abc"}).content.decode()

    assert "12 results for “bulletin”" in first
    assert first.count("Outcome bulletin") == 10
    assert second.count("Outcome bulletin") == 2
    assert 'href="?query=bulletin&amp;page=2"' in first
    assert not_a_number.count("Outcome bulletin") == 10


def test_favicon_ico_redirects_to_the_icon_without_setting_a_csrf_cookie(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response.url.endswith("img/favicon.svg")
    assert "csrftoken" not in response.cookies
