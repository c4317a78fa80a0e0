"""The shell's template tags: JSON-LD escaping."""

import datetime
import json
import re

import pytest
from django.template import Context, Template

from cms.models import ArticlePage
from cms.templatetags import cms_tags


def render(source, **context):
    return Template("{% load cms_tags %}" + source).render(Context(context))


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
