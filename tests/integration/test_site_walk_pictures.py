"""Pictures on events and articles: responsive WebP/JPEG renditions with alt text on the
page, cards in listings, and the picture a shared link or search result shows."""

import json
import re

import pytest
from django.core.exceptions import ValidationError

from cms.demo_images import demo_image
from courses.factories import make_event

pytestmark = pytest.mark.django_db

DESCRIPTION = "Soft white and gold circles on a deep blue-to-teal gradient."


def picture(title="Training of Trainers"):
    return demo_image("conference", title=title, description=DESCRIPTION)


def meta(html, name):
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)"', html)
    return found.group(1) if found else None


def test_event_page_shows_its_picture_with_alt_text_and_shares_it(client):
    event = make_event(title="Training of Trainers Conference", image=picture())
    html = client.get(event.url).text

    hero = re.search(r'<figure class="page-hero">(.*?)</figure>', html, re.S).group(1)
    assert 'type="image/webp"' in hero and "srcset=" in hero
    assert f'alt="{DESCRIPTION}"' in hero
    img = re.search(r"<img[^>]+>", hero).group(0)
    assert re.search(r'width="\d+"', img) and re.search(r'height="\d+"', img)  # no jump

    image_url = meta(html, "og:image")
    assert image_url.startswith("http") and image_url.endswith(".jpg")
    assert meta(html, "og:image:alt") == DESCRIPTION
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "og:title") == "Training of Trainers Conference"
    json_ld = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    )
    assert json_ld["image"] == [image_url]


def test_event_cards_show_the_picture(client):
    event = make_event(title="FIT Supervision", image=picture("FIT Supervision"))
    index = event.get_parent()
    html = client.get(index.url).text
    card = re.search(r'<article class="card event-card">(.*?)</article>', html, re.S).group(1)
    assert "<picture>" in card and 'type="image/webp"' in card


def test_a_picture_without_alt_text_is_refused_with_what_to_do():
    event = make_event(title="Webinar")
    bare = picture("Bare")
    bare.description = ""
    bare.save()
    event.image = bare
    with pytest.raises(ValidationError) as refused:
        event.full_clean()
    assert "has no description for people who cannot see it" in str(refused.value)


def test_a_page_without_a_picture_shares_no_image(client):
    event = make_event(title="Plain event")
    html = client.get(event.url).text
    assert meta(html, "og:image") is None
    assert meta(html, "twitter:card") == "summary"
    assert "page-hero" not in html
