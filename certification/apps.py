from django.apps import AppConfig


class CertificationConfig(AppConfig):
    name = "certification"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
