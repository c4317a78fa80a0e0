"""Absolute links for emails, PDFs, QR codes and badges, which leave the site."""

from django.conf import settings
from django.urls import reverse


def absolute_url(path):
    """SITE_URL + a path on this site: "/verify/CE-1/" -> "https://training.example.org/verify/CE-1/"."""
    return f"{settings.SITE_URL}{path}"


def absolute_reverse(name, *args, **kwargs):
    """The absolute link to a named view."""
    return absolute_url(reverse(name, args=args or None, kwargs=kwargs or None))


def absolute_page_url(page, request=None):
    """The absolute link to a Wagtail page on SITE_URL ("" for a page not routable).

    Wagtail's `get_full_url` uses the Site record's host and port, which nothing keeps in step
    with SITE_URL (a record left at localhost:80 would print "http://localhost/..."): the
    page's path is taken from Wagtail and the address from the one setting.
    """
    parts = page.get_url_parts(request) if page.url_path else None
    return absolute_url(parts[2]) if parts else ""
