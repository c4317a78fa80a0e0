"""Site-wide views that are not Wagtail pages: search, robots.txt and the error pages."""

from django.core.exceptions import SuspiciousOperation
from django.db.models import Q
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from wagtail.models import Page, PageViewRestriction, Site

from cms.access import public
from cms.models import paginate
from cms.untrusted_input import UnacceptableInput, query_text

SEARCH_RESULTS_PER_PAGE = 10
MAX_QUERY_LENGTH = 200


def viewable_pages(pages, request):
    """`pages` without the private sections this request may not open: a member sees the
    members' library in results, nobody else sees even its titles."""
    refused = Q()
    for restriction in PageViewRestriction.objects.select_related("page").prefetch_related(
        "groups"
    ):
        if not restriction.accept_request(request):
            refused |= pages.descendant_of_q(restriction.page, inclusive=True)
    return pages.exclude(refused) if refused else pages


@public
@require_GET
def search(request):
    """Full-text search over the live pages of the current site this request may open."""
    # `q` is what people and other sites' search boxes usually send; the form sends `query`.
    query = (query_text(request, "query") or query_text(request, "q")).strip()[:MAX_QUERY_LENGTH]
    results = None
    pagination_query = ""
    if query:
        pagination_query = f"{urlencode({'query': query})}&"
        pages = viewable_pages(Page.objects.live(), request).specific()
        site = Site.find_for_request(request)
        if site is not None:
            pages = pages.descendant_of(site.root_page, inclusive=True)
        results = paginate(request, pages.search(query), SEARCH_RESULTS_PER_PAGE)
    return render(
        request,
        "cms/search.html",
        {"query": query, "results": results, "pagination_query": pagination_query},
    )


@public
@require_GET
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    """Let crawlers index the public site, keep them out of accounts and admin, name the sitemap."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /accounts/",
        "Disallow: /search/",
        "",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


def bad_request(request, exception=None):
    """The friendly 400: what was wrong when we can say it (`UnacceptableInput`), a way on."""
    if isinstance(exception, SuspiciousOperation):
        # An unknown Host header and the like: the site's pages read the Site from the Host,
        # so rendering them would fail again (a 500). Answer from the standalone shell.
        return HttpResponseBadRequest(loader.get_template("400_suspicious.html").render())
    message = str(exception) if isinstance(exception, UnacceptableInput) else ""
    return render(request, "400.html", {"message": message}, status=400)


def page_not_found(request, exception=None):
    """The friendly 404: the site's header, search and a way home."""
    return render(request, "404.html", {"request_path": request.path}, status=404)


def server_error(request):
    """The 500 page, rendered without a request context: the database may be what failed."""
    return HttpResponseServerError(loader.get_template("500.html").render())


@public
def favicon(request):
    """Send /favicon.ico to the static icon; its hashed name is known only at request time."""
    return redirect(static("img/favicon.svg"), permanent=True)
