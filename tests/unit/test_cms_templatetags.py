"""The shell's template tags: optional sections from other apps, safe URLs, JSON-LD escaping."""

import datetime
import json
import re

import pytest
from django.template import Context, Template

from cms.models import ArticlePage
from cms.templatetags import cms_tags


def render(source, **context):
    return Template("{% load cms_tags %}" + source).render(Context(context))


def test_url_if_exists_reverses_known_names_and_is_empty_for_unknown_ones():
    assert render("{% url_if_exists 'search' %}") == "/search/"
    assert render("{% url_if_exists 'no_such_app:no_such_view' %}") == ""
    assert render("{% url_if_exists 'no:view' as link %}[{{ link }}]") == "[]"


def test_include_if_exists_renders_an_existing_template_with_the_context():
    items = [{"title": "News & views", "url": "/news/", "current": "page"}]

    output = render("{% include_if_exists 'components/main_nav.html' %}", items=items)

    assert '<a href="/news/" aria-current="page">News &amp; views</a>' in output


def test_include_if_exists_is_silent_for_a_missing_template():
    assert render("before{% include_if_exists 'nobody/provides/this.html' %}after") == (
        "beforeafter"
    )


def test_upcoming_events_area_shows_the_courses_template_only_when_it_exists(monkeypatch):
    monkeypatch.setattr(cms_tags, "UPCOMING_EVENTS_TEMPLATE", "courses/not-built-yet.html")
    assert render("{% upcoming_events_area %}") == ""

    monkeypatch.setattr(cms_tags, "UPCOMING_EVENTS_TEMPLATE", "components/main_nav.html")
    items = [{"title": "Training of Trainers", "url": "/events/tot/", "current": ""}]
    assert "Training of Trainers" in render("{% upcoming_events_area %}", items=items)


@pytest.mark.django_db
def test_json_ld_escapes_characters_that_could_close_the_script_element():
    article = ArticlePage(
        title="</script><script>alert(1)</script>",
        author="A & B <i>",
        date=datetime.date(2015, 2, 2),
        url_path="/home/news/x/",
    )

    output = cms_tags.article_json_ld(Context({"request": None}), article, tags=[])

    body = re.fullmatch(r'<script type="application/ld\+json">(.*)</script>', output, re.S)
    assert body is not None
    assert "<" not in body.group(1) and ">" not in body.group(1) and "&" not in body.group(1)
    data = json.loads(body.group(1))
    assert data["headline"] == "</script><script>alert(1)</script>"
    assert data["author"]["name"] == "A & B <i>"
    assert data["datePublished"] == "2015-02-02"


def test_main_navigation_without_a_request_lists_nothing():
    assert cms_tags.main_navigation(Context({"request": None})) == {"items": [], "request": None}


def test_messages_announce_errors_at_once_and_others_politely():
    from django.contrib import messages
    from django.contrib.messages.storage.base import Message
    from django.template.loader import render_to_string

    html = render_to_string(
        "components/messages.html",
        {
            "messages": [
                Message(messages.ERROR, "Your card was declined."),
                Message(messages.SUCCESS, "Registration confirmed."),
            ]
        },
    )

    assert '<p class="message message--error" role="alert">Your card was declined.</p>' in html
    assert '<p class="message message--success" role="status">Registration confirmed.</p>' in html
