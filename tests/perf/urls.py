"""The site's URLs plus the benchmarks' floors (tests/perf/floors.py; never in production)."""

from django.urls import path, re_path

from cms.urls import urlpatterns as site_urlpatterns
from tests.perf import floors

urlpatterns = [
    path("bench/bare", floors.bare, name="bench_bare"),
    path("bench/bare-post", floors.bare_post, name="bench_bare_post"),
    path("bench/floor/hold/<int:capacity_id>/", floors.hold_seat, name="bench_floor_hold"),
    re_path(r"^bench/minimal-page/(?P<path>.*)$", floors.minimal_page, name="bench_minimal_page"),
    *site_urlpatterns,
]
