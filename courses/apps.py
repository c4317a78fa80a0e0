from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"

    def ready(self):
        # No courses.tasks module to autodiscover: importing the services registers their tasks.
        from courses import services  # noqa: F401
