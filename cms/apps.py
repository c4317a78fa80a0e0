from django.apps import AppConfig
from django.urls import register_converter
from django.utils.translation import gettext_lazy as _

from cms.untrusted_input import IdConverter, TextConverter


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = _("Site")

    def ready(self):
        # Before any URLconf is read: every app's routes use `<id:...>` and `<text:...>`.
        register_converter(IdConverter, "id")
        register_converter(TextConverter, "text")
        # Connects the audit receivers for allauth's signals (they import models: not before
        # ready), and those forgetting the header's cached "Admin" link answers on role changes.
        from cms import account_signals, admin_link  # noqa: F401
