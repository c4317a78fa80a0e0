"""`manage.py load_demo`: a newcomer's site with real content, safe to run again."""

import contextlib
import importlib
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cms import demo

# The apps that add demo content after the site shell, in the order their content depends on:
# courses' events sit under the home page; payments and certification refer to those events.
DEMO_APPS = ["courses", "payments", "certification", "certification.trainers"]

# Wagtail and the task runner log every page save at INFO; the staff password would drown.
CHATTY_LOGGERS = ["wagtail", "django_tasks", "django_tasks.backends.immediate"]


@contextlib.contextmanager
def quiet_loggers(names):
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Build the demo site: pages, site settings, the newsletter article and a staff "
        "account, then each app's own demo content. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-staff-password",
            action="store_true",
            help="Give the existing demo staff account a new password and print it.",
        )
        parser.add_argument(
            "--i-know",
            action="store_true",
            dest="i_know",
            help="Run under production settings anyway (creates a staff account, prints its "
            "password).",
        )

    def handle(self, *args, **options):
        if getattr(settings, "IS_PRODUCTION", False) and not options["i_know"]:
            raise CommandError(
                "These are production settings: load_demo would add demo pages, events and a "
                "staff account with a printed password. Run it with --i-know if that is really "
                "what you want."
            )
        with quiet_loggers(CHATTY_LOGGERS):
            self.stdout.write("Site shell (cms):")
            staff, password = demo.load_demo_content(
                self.stdout, reset_staff_password=options["reset_staff_password"]
            )
            for app in DEMO_APPS:
                self.stdout.write(f"\n{app}:")
                importlib.import_module(f"{app}.demo").load_demo_content(self.stdout)
        demo.print_staff_login(self.stdout, staff, password)
        self.stdout.write(self.style.SUCCESS(f"\nDemo content is ready: {settings.SITE_URL}/"))
