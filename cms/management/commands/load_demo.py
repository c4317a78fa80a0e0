"""`manage.py load_demo`: a newcomer's site with real content, safe to run again."""

import importlib
import importlib.util

from django.core.management.base import BaseCommand

from cms import demo

# The order matters: courses' events sit under the home page, payments and certification
# refer to those events.
EXTENDING_APPS = ["courses", "payments", "certification", "certification.trainers"]


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

    def handle(self, *args, **options):
        self.stdout.write("Site shell (cms):")
        demo.load_demo_content(self.stdout, reset_staff_password=options["reset_staff_password"])
        for app in EXTENDING_APPS:
            module_name = f"{app}.demo"
            if importlib.util.find_spec(module_name) is None:
                continue
            self.stdout.write(f"\n{app}:")
            importlib.import_module(module_name).load_demo_content(self.stdout)
        self.stdout.write(self.style.SUCCESS("\nDemo content is ready."))
