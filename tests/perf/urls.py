"""The site's URLs plus a bare view that is the benchmark's baseline (never in production)."""

from django.http import HttpResponse
from django.urls import path

from cms.urls import urlpatterns as site_urlpatterns


def bare(request):
    """The cheapest response Django can give: the ceiling a page is compared against."""
    return HttpResponse("Heart and Soul of Change Project", content_type="text/plain")


urlpatterns = [path("bench/bare", bare, name="bench_bare"), *site_urlpatterns]
