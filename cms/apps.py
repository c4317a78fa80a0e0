from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Site"

    def ready(self):
        # Connects the audit receivers for allauth's account and two-factor signals.
        # Before any URLconf is read: every app's routes use `<id:...>` and `<text:...>`.
        from django.urls import register_converter

        from cms import account_signals  # noqa: F401
        from cms.untrusted_input import IdConverter, TextConverter

        register_converter(IdConverter, "id")
        register_converter(TextConverter, "text")
