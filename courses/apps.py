from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self):
        # Registers the Celery tasks defined beside their services (there is no courses.tasks
        # module for autodiscovery); their names stay `courses.tasks.*` for beat and queues.
        from courses import services  # noqa: F401
