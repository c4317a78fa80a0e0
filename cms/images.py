"""Pictures on pages: alt text required where a picture carries meaning, and the one picture
a shared link or search result shows (Open Graph, Twitter card, JSON-LD `image`).

Wagtail keeps an image's alt text in its `description` ("Description" in the image editor);
pages that show a picture with meaning refuse one that has none.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cms.links import absolute_url

# Large enough for every network's large-picture card, in the 1.91:1 shape they crop to; the
# same rendition as the event JSON-LD's `image` (EventPage.schema_org_image).
SOCIAL_IMAGE_SPEC = "fill-1200x630"


def alt_text(image):
    return (getattr(image, "description", "") or "").strip()


def require_alt_text(image, field):
    """Refuse `image` in page field `field` when it has no alt text, saying where to add it."""
    if image is not None and not alt_text(image):
        raise ValidationError(
            {
                field: _(
                    "The picture “%(title)s” has no description for people who cannot see "
                    "it. Add one under Images › %(title)s › Description, then save again."
                )
                % {"title": image.title}
            }
        )


def page_picture(page):
    """The page's own picture: an event's image or an article's listing image."""
    return getattr(page, "image", None) or getattr(page, "listing_image", None)


def social_image(page, site_settings=None):
    """(absolute URL, width, height, alt) of the picture a shared link shows, or None: the
    page's own picture, else the organisation's logo."""
    image = page_picture(page) if page is not None else None
    if image is None and site_settings is not None:
        image = getattr(site_settings, "logo", None)
    if image is None:
        return None
    rendition = image.get_rendition(SOCIAL_IMAGE_SPEC)
    url = rendition.url
    return {
        "url": absolute_url(url) if url.startswith("/") else url,
        "width": rendition.width,
        "height": rendition.height,
        "alt": alt_text(image),
    }
