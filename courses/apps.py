from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self):
        # Why here: importing the services registers their Celery tasks once the apps are ready.
        from courses import services  # noqa: F401
