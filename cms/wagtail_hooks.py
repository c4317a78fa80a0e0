"""Admin hooks of the site shell: the admin's "Account" page points to the site's account
pages, the admin home opens with what needs the staff member's attention, and every admin
screen gets the site's few admin style fixes."""

from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from wagtail import hooks

from cms.attention import AttentionPanel


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


@hooks.register("construct_homepage_panels")
def needs_attention_first(request, panels):
    panels.insert(0, AttentionPanel())


@hooks.register("insert_global_admin_css")
def site_admin_css():
    return format_html('<link rel="stylesheet" href="{}">', static("css/admin.css"))
