"""Absolute links for emails, PDFs, QR codes and badges, which leave the site."""

from django.conf import settings
from django.urls import reverse


def absolute_url(path):
    """SITE_URL + a path on this site: "/verify/CE-1/" -> "https://training.example.org/verify/CE-1/"."""
    return f"{settings.SITE_URL}{path}"


def absolute_reverse(name, *args, **kwargs):
    """The absolute link to a named view."""
    return absolute_url(reverse(name, args=args or None, kwargs=kwargs or None))
