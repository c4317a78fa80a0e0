from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        # Signal receivers connect when their module is imported, and models load only now.
        from payments import receivers  # noqa: F401
