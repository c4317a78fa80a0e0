"""Admin hooks of the site shell: the admin's "Account" page points to the site's account pages."""

from django.urls import reverse
from django.utils.translation import gettext as _
from wagtail import hooks


@hooks.register("register_account_menu_item")
def site_account_pages(request):
    return {
        "url": reverse("account_profile"),
        "label": _("Names, email, password and two-factor"),
        "help_text": _(
            "Your legal name, email address, password and authenticator app are managed on "
            "the site's account pages, with email verification and two-factor authentication."
        ),
    }
