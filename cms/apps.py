from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Site"

    def ready(self):
        # Connects the audit receivers for allauth's account and two-factor signals.
        from cms import account_signals  # noqa: F401
