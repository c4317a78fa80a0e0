"""Template tags for the site shell: navigation and structured data."""

import json

from django import template
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from wagtail.models import Site

from cms import admin_link, page_cache
from cms.fragments import FRAGMENT_SECONDS
from cms.images import social_image
from cms.library import LibraryIndexPage, library_for_site
from cms.library import library_link as library_link_for
from cms.links import absolute_page_url
from cms.models import SiteSettings

register = template.Library()


# The characters that could end a <script> element or open a comment inside it; escaping them
# as JSON unicode escapes keeps the data identical for any JSON parser (as json_script does).
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def _current_site(request):
    if request is None:
        return None
    return Site.find_for_request(request)


@register.filter
def offers_admin_link(user):
    """`{% if user|offers_admin_link %}`: the header's "Admin" link, without a permission
    query on every page (`cms.admin_link`)."""
    return admin_link.offers_admin_link(user)


def _menu_pages(request, site):
    """(title, url, tree path) of the site's menu pages, cached per content generation."""
    key = f"fragment:menu:{page_cache.generation()}:{site.pk}:{request.get_host()}"
    pages = cache.get(key)
    if pages is None:
        pages = [
            (page.title, page.get_url(request=request), page.path)
            for page in site.root_page.get_children()
            .live()
            .in_menu()
            # The same for every visitor: the members' library is offered to members only.
            .not_type(LibraryIndexPage)
            .only("id", "path", "depth", "url_path", "title", "slug")
        ]
        cache.set(key, pages, FRAGMENT_SECONDS)
    return pages


@register.simple_tag(takes_context=True)
def library_link(context):
    """`{% library_link as library %}`: {"title", "url"} of the members' library when the
    signed-in person may open it (a member), else None; no query once answered (cms.library)."""
    request = context.get("request")
    return library_link_for(request) if request is not None else None


@register.simple_tag
def members_library_url():
    """The members' library's address on SITE_URL, for emails ("" if there is none)."""
    library = library_for_site(Site.objects.filter(is_default_site=True).first())
    return absolute_page_url(library) if library is not None else ""


@register.inclusion_tag("components/main_nav.html", takes_context=True)
def main_navigation(context):
    """The top-level pages editors marked "show in menus", with the current section marked."""
    request = context.get("request")
    site = _current_site(request)
    items = []
    if site is not None:
        current = context.get("page")
        current_path = getattr(current, "path", "") or ""
        for title, url, path in _menu_pages(request, site):
            if current_path == path:
                state = "page"
            elif current_path.startswith(path):
                state = "true"
            else:
                state = ""
            items.append({"title": title, "url": url, "current": state})
    return {"items": items, "request": request}


def _plain_json_for_script(data):
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(
        _JSON_SCRIPT_ESCAPES
    )


@register.simple_tag(takes_context=True)
def article_json_ld(context, article, tags=None):
    """schema.org `Article` data for search engines, as an escaped ld+json data block.

    Every value is plain text (no rich text), so no editor HTML reaches the data block.
    """
    request = context.get("request")
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": article.title,
        "author": {"@type": "Person", "name": article.author},
        "datePublished": article.date.isoformat(),
        "mainEntityOfPage": article.get_full_url(request=request),
    }
    if article.last_published_at:
        data["dateModified"] = article.last_published_at.isoformat()
    if article.summary:
        data["description"] = article.summary
    if request is not None:
        organisation = SiteSettings.for_request(request).organisation_name
        data["publisher"] = {"@type": "Organization", "name": organisation}
        # Articles written by the organisation itself credit it, not a person.
        if article.author == organisation:
            data["author"] = data["publisher"]
    keywords = [tag.name for tag in (tags if tags is not None else article.tags.all())]
    if keywords:
        data["keywords"] = keywords
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(_plain_json_for_script(data)),  # noqa: S308 - escaped by _JSON_SCRIPT_ESCAPES
    )


@register.inclusion_tag("components/social_meta.html", takes_context=True)
def social_meta(context, page=None):
    """Open Graph and Twitter card tags, so a shared link shows the title, summary and picture."""
    request = context.get("request")
    page = page or context.get("page")
    site_settings = SiteSettings.for_request(request) if request is not None else None
    description = ""
    if page is not None:
        description = (
            getattr(page, "search_description", "")
            or getattr(page, "summary", "")
            or getattr(page, "introduction", "")
        )
    if not description and site_settings is not None:
        description = site_settings.footer_text
    return {
        "page": page,
        "kind": "article" if getattr(page, "date", None) else "website",
        "title": (getattr(page, "seo_title", "") or getattr(page, "title", "")) if page else "",
        "description": description,
        "url": page.full_url if page is not None and getattr(page, "url_path", "") else "",
        "image": social_image(page, site_settings),
        "site_name": getattr(site_settings, "organisation_name", ""),
    }
