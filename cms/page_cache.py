"""Whole-page cache for anonymous visitors on the content pages (home, news, articles).

Rendering a Wagtail page costs about ten queries and the page tree's ORM work, twenty times a
bare Django response. Most visitors read the same public pages without signing in, so those
responses are kept in the cache and served before sessions, authentication and Wagtail's
routing run. Only page types listed in `PAGE_CACHE_MODELS` are kept, and only responses that
are the same for every visitor: no session or messages cookie on the request, no cookie set
and no CSRF token or CSP nonce used while rendering, and no view restriction on the page.

A page type that shows a live number (seats left on an event) keeps one copy per value of it:
it defines `page_cache_state()` (a small picklable dict stored with the page) and the
classmethod `page_cache_variant(state, now=None, rendered=None)`, which works out the value
now (with a query, but without routing or rendering) or as the `rendered` page showed it.
Each request asks for the variant first, so the number a visitor sees is never older than
their request; only the HTML around it is shared.

Any change to content (a page published, unpublished, moved or deleted, a save of one of
`PAGE_CACHE_INVALIDATING_MODELS`) moves every cached page to a new generation at once. The
generation lives in the cache, so with a shared cache (`CACHE_URL`, Redis) all processes see
a change immediately; with the per-process default cache a change made in another process
(a management command, a worker) shows after at most `PAGE_CACHE_SECONDS`.

With Redis down, the shared cache fails open (cms/cache_backends.py): every lookup here
misses, nothing is stored, a warning is logged, and each page is rendered as if uncached.
"""

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.utils import timezone
from wagtail.models import Page
from wagtail.signals import page_published, page_unpublished, post_page_move

GENERATION_KEY = "page-cache:generation"
# Headers that belong to one response only or that outer middleware adds again.
UNCACHED_HEADERS = {"set-cookie", "date", "content-length"}


def generation():
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        value = cache.get(GENERATION_KEY, 1)
    return value


def invalidate(**kwargs):
    """Start a new generation: every page cached so far is ignored from now on."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.add(GENERATION_KEY, 1, timeout=None)


def _invalidate_on_model_change(sender, **kwargs):
    if sender._meta.label_lower in settings.PAGE_CACHE_INVALIDATING_MODELS:
        invalidate()


def _invalidate_on_page_delete(sender, **kwargs):
    if issubclass(sender, Page):
        invalidate()


page_published.connect(invalidate, dispatch_uid="page_cache_published")
page_unpublished.connect(invalidate, dispatch_uid="page_cache_unpublished")
post_page_move.connect(invalidate, dispatch_uid="page_cache_moved")
post_save.connect(_invalidate_on_model_change, dispatch_uid="page_cache_saved")
post_delete.connect(_invalidate_on_model_change, dispatch_uid="page_cache_deleted")
post_delete.connect(_invalidate_on_page_delete, dispatch_uid="page_cache_page_deleted")
m2m_changed.connect(_invalidate_on_model_change, dispatch_uid="page_cache_m2m")


def _cache_key(request):
    scheme = "https" if request.is_secure() else "http"
    return f"page-cache:{generation()}:{scheme}:{request.get_host()}:{request.path}"


def _may_use_cache(request):
    """Only plain GETs from visitors who carry no per-person state."""
    return (
        request.method == "GET"
        and not request.META.get("QUERY_STRING")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def _cacheable_page_response(request, response):
    context = getattr(response, "context_data", None) or {}
    page = context.get("page")
    return (
        response.status_code == 200
        and page is not None
        and page._meta.label in _cached_models()
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and getattr(request, "_csp_nonce", None) is None
        and "private" not in response.get("Cache-Control", "")
        and "no-store" not in response.get("Cache-Control", "")
        # A page behind a password or sign-in restriction is never shared.
        and not page.get_view_restrictions().exists()
    )


def _cached_models():
    """Labels of the cached page types; unknown labels are ignored so settings stay valid."""
    labels = set()
    for label in settings.PAGE_CACHE_MODELS:
        try:
            labels.add(apps.get_model(label)._meta.label)
        except LookupError:
            continue
    return labels


class AnonymousPageCacheMiddleware:
    """Serve a stored copy of a public content page; store one after rendering it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.PAGE_CACHE_SECONDS <= 0 or not _may_use_cache(request):
            return self.get_response(request)
        key = _cache_key(request)
        started = timezone.now()
        stored = cache.get(key)
        if isinstance(stored, dict):
            # A page with live parts: the record says how to find the copy that is right now.
            model = apps.get_model(stored["model"])
            variant = model.page_cache_variant(stored["state"], now=started)
            stored = cache.get(f"{key}:{variant}")
        if stored is not None:
            request.metrics_view = "page_cache"
            content, headers = stored
            response = HttpResponse(content)
            for name, value in headers:
                response[name] = value
            return response
        response = self.get_response(request)
        if _cacheable_page_response(request, response):
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in UNCACHED_HEADERS
            ]
            _store(key, response.context_data["page"], (response.content, headers), started)
        return response


def _store(key, page, entry, started):
    timeout = settings.PAGE_CACHE_SECONDS
    if not hasattr(page, "page_cache_state"):
        cache.set(key, entry, timeout)
        return
    state = page.page_cache_state()
    variant = page.page_cache_variant(state, rendered=page)
    if variant != page.page_cache_variant(state, now=started, rendered=page):
        return  # one of the page's moments passed while it rendered: keep nothing
    cache.set(key, {"model": page._meta.label, "state": state}, timeout)
    cache.set(f"{key}:{variant}", entry, timeout)
