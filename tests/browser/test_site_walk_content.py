"""Issue 15, items 17 and 19 in Chromium at desktop and phone widths: the pictures of events
and articles as the browser loads them (WebP chosen from a srcset, sized for the width, with
alt text) and as a shared link shows them (Open Graph and Twitter images on the served
host), and the event's JSON-LD as a search engine reads it from the page the browser got."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cms.demo_images import demo_image
from cms.factories import ArticlePageFactory, NewsIndexPageFactory
from courses.factories import make_event, ticket
from tests.browser.conftest import assert_accessible

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
EVENT_PICTURE = "Soft white and gold circles on a deep blue-to-teal gradient."
ARTICLE_PICTURE = "Overlapping green and amber rings on a pale sand background."

# What the browser made of an <img>: the file it chose from the srcset, and that it loaded.
LOADED = """img => ({
    src: img.currentSrc, width: img.naturalWidth, alt: img.getAttribute("alt"),
    srcset: img.closest("picture")
        ? [...img.closest("picture").querySelectorAll("source")].map(s => [s.type, s.srcset])
        : [],
})"""


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def looks_right(page):
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def shown(locator):
    """The picture as the browser shows it, once scrolled to (cards load lazily)."""
    locator.scroll_into_view_if_needed()
    expect(locator).to_be_visible()
    locator.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=locator.element_handle()
    )
    return locator.evaluate(LOADED)


def assert_webp_from_a_srcset(picture, widths):
    webp = [srcset for kind, srcset in picture["srcset"] if kind == "image/webp"]
    assert webp, picture
    assert all(f" {w}w" in webp[0] for w in widths), webp
    assert picture["src"].endswith(".webp"), f"the browser did not choose WebP: {picture['src']}"
    assert picture["width"] > 0


def meta(page, name):
    found = page.locator(f'meta[property="{name}"], meta[name="{name}"]')
    return found.get_attribute("content") if found.count() else None


def assert_shared_picture(page, served, alt):
    """og:image and twitter:image: one absolute URL on the served host that answers a JPEG."""
    image = meta(page, "og:image")
    assert image and image.startswith(served + "/"), image
    assert meta(page, "twitter:image") == image
    assert meta(page, "twitter:card") == "summary_large_image"
    assert meta(page, "og:image:alt") == alt
    response = page.request.get(image)
    assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
    return image


# -- item 17: pictures -------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_events_and_articles_show_responsive_pictures_and_share_them(
    page, live_server, settings, width
):
    settings.SITE_URL = live_server.url  # as `make run` sets it from HOST and PORT
    served = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    event = make_event(
        title="Training of Trainers Conference",
        image=demo_image("conference", title="Training of Trainers", description=EVENT_PICTURE),
    )
    news = NewsIndexPageFactory(parent=event.get_parent().get_parent())
    article = ArticlePageFactory(
        parent=news,
        title="Routine outcome monitoring in practice",
        listing_image=demo_image(
            "webinar", title="Outcome monitoring", description=ARTICLE_PICTURE
        ),
    )

    # The events listing: the card's picture, WebP at two widths.
    page.goto(event.get_parent().url)
    card = page.locator("article.event-card").filter(has_text="Training of Trainers Conference")
    card_picture = shown(card.locator("picture img"))
    assert_webp_from_a_srcset(card_picture, [400, 800])
    # Decorative beside the linked title: an empty alt, so screen readers do not say it twice.
    assert card_picture["alt"] == ""
    looks_right(page)

    # The event page: the picture at the top with its description, sized for the width.
    page.goto(event.url)
    hero = page.get_by_role("img", name=EVENT_PICTURE)
    hero_picture = shown(hero)
    assert_webp_from_a_srcset(hero_picture, [640, 960, 1200])
    expected = "640x336" if width < 640 else "1200x630"
    assert expected in hero_picture["src"], hero_picture["src"]
    assert_shared_picture(page, served, EVENT_PICTURE)
    looks_right(page)

    # The news listing and the article: the same, with the article's own picture.
    page.goto(news.url)
    article_card = page.locator("article").filter(has_text="Routine outcome monitoring")
    assert_webp_from_a_srcset(shown(article_card.locator("picture img").first), [400, 800])
    looks_right(page)
    page.goto(article.url)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Routine outcome monitoring in practice"
    )
    assert_webp_from_a_srcset(shown(page.get_by_role("img", name=ARTICLE_PICTURE)), [640, 1200])
    shared = assert_shared_picture(page, served, ARTICLE_PICTURE)
    assert meta(page, "og:type") == "article"
    assert shared != meta(page, "og:url")
    looks_right(page)


# -- item 19: the event's JSON-LD ------------------------------------------------------------


def json_ld(page):
    blocks = page.locator('script[type="application/ld+json"]')
    expect(blocks).to_have_count(1)
    return json.loads(blocks.text_content())


@pytest.mark.parametrize("width", WIDTHS)
def test_event_json_ld_has_picture_address_and_offers_and_a_past_event_claims_no_stock(
    page, live_server, settings, width
):
    settings.SITE_URL = live_server.url
    served = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    event = make_event(
        title="Training of Trainers Conference",
        price=98550,
        starts_in=timedelta(days=60),
        venue_name="Hyatt Regency Sarasota",
        venue_address="Hyatt Regency Sarasota\n1000 Boulevard of the Arts\nSarasota, FL 34236\nUSA",
        image=demo_image("conference", title="Training of Trainers", description=EVENT_PICTURE),
    )
    early_sale = timezone.now().replace(microsecond=0) + timedelta(days=3)
    ticket(event, name="Early access", price=50000, sale_starts_at=early_sale)

    page.goto(event.url)
    main = page.locator("main")
    expect(main).to_contain_text("1000 Boulevard of the Arts")
    expect(main).to_contain_text("$985.50")
    looks_right(page)
    data = json_ld(page)

    assert data["@type"] == "Event" and data["name"] == "Training of Trainers Conference"
    (image,) = data["image"]
    assert image == meta(page, "og:image") and image.startswith(served + "/"), image
    assert page.request.get(image).status == 200
    assert data["location"]["name"] == "Hyatt Regency Sarasota"
    assert data["location"]["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "1000 Boulevard of the Arts",
        "addressLocality": "Sarasota",
        "addressRegion": "FL",
        "postalCode": "34236",
        "addressCountry": "US",
    }
    offers = {offer["name"]: offer for offer in data["offers"]}
    assert offers["Standard"]["price"] == "985.50"
    assert offers["Standard"]["availability"] == "https://schema.org/InStock"
    assert offers["Standard"]["validFrom"] == event.local(event.first_published_at).isoformat()
    assert offers["Early access"]["validFrom"] == event.local(early_sale).isoformat()

    past = make_event(
        title="Training of Trainers 2025", price=98550, starts_in=timedelta(days=-300)
    )
    page.goto(past.url)
    expect(page.get_by_role("region", name="Registration")).to_contain_text(
        "Registration closed. This event has taken place."
    )
    looks_right(page)
    past_data = json_ld(page)
    assert past_data["offers"], "the price stays on record"
    assert all("availability" not in offer for offer in past_data["offers"])
    assert "InStock" not in json.dumps(past_data)
