from django.conf import settings
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap as wagtail_sitemap
from wagtail.documents import urls as wagtaildocs_urls

from cms import account_views
from cms import views as cms_views
from cms.access import public
from cms.feeds import ArticleFeed, AtomArticleFeed
from cms.health import healthz
from cms.metrics import metrics_view

urlpatterns = [
    # Over the admin's and Wagtail's own login forms, which would bypass allauth's rate limits
    # and the two-factor step.
    path("admin/login/", account_views.login_redirect, name="admin_login_redirect"),
    path("_util/login/", account_views.login_redirect, name="wagtail_login_redirect"),
    path("admin/", include(wagtailadmin_urls)),
    path("accounts/", include(account_views.urlpatterns)),
    path("accounts/", include("allauth.urls")),
    path("documents/", include(wagtaildocs_urls)),
    path("payments/", include("payments.urls")),
    path("certification/", include("certification.trainers.urls")),
    path("registrations/", include("courses.urls")),
    path("", include("certification.urls")),
    path("attendance/", include("courses.attendance_urls")),
    path("healthz", healthz, name="healthz"),
    # Prometheus scrape target: 404 without METRICS_TOKEN, 403 without the right bearer token.
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico on their own (PDFs, JSON); answering from the 404 page would
    # render a form and replace a first-time visitor's CSRF cookie mid-flow.
    path("favicon.ico", cms_views.favicon, name="favicon"),
    path("search/", cms_views.search, name="search"),
    path("robots.txt", cms_views.robots_txt, name="robots_txt"),
    path("sitemap.xml", wagtail_sitemap, name="sitemap"),
    path("feed/", public(ArticleFeed()), name="article_feed"),
    path("feed/atom/", public(AtomArticleFeed()), name="article_feed_atom"),
]

handler400 = "cms.views.bad_request"
handler404 = "cms.views.page_not_found"
handler500 = "cms.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving catches everything else, so it comes last.
urlpatterns += [path("", include(wagtail_urls))]
