"""Installed in place of "wagtail.users" so the admin's user screens use cms.wagtail_users.

Kept apart from cms.wagtail_users because app configs load before models can be imported.
"""

from wagtail.users.apps import WagtailUsersAppConfig


class UsersAppConfig(WagtailUsersAppConfig):
    user_viewset = "cms.wagtail_users.StaffUserViewSet"

    def ready(self):
        super().ready()
        # Imported here: Wagtail's admin views import models, which cannot load before ready().
        from wagtail.admin.views import account

        # Wagtail's "Name and Email" panel edits first/last names this user model does not
        # have, and would change the login email without allauth's verification. Names and
        # email are edited on the site's account pages (linked from the admin's Account page).
        account.NameEmailSettingsPanel.is_active = lambda panel: False
