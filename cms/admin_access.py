"""The Wagtail admin's side of the one staff guard: menu items and permission policies.

Each staff area of the admin names the capability (`cms.access.Perm`) it needs; these classes
ask `cms.access.can`, so the admin and the pages outside it grant exactly the same people.
"""

from wagtail.admin.menu import MenuItem, SubmenuMenuItem
from wagtail.permission_policies.base import BasePermissionPolicy

from cms.access import AccessRule, can, declare, users_with


class CapabilityPermissionPolicy(BasePermissionPolicy):
    """Holders of one capability may do the given actions on the model; nobody else."""

    def __init__(self, model, permission, actions=("add", "change", "delete", "view")):
        super().__init__(model)
        self.permission = permission
        self.actions = set(actions)

    def user_has_permission(self, user, action):
        return action in self.actions and can(user, self.permission)

    def user_has_any_permission(self, user, actions):
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions):
        if not self.actions.intersection(actions):
            return users_with(self.permission).none()
        return users_with(self.permission)


class CapabilityMenuItem(MenuItem):
    """A menu item shown only to holders of `permission` (with their second factor)."""

    permission = None

    def __init__(self, *args, permission=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission or self.permission

    def is_shown(self, request):
        return can(request.user, self.permission)


class CapabilitySubmenuItem(SubmenuMenuItem):
    def __init__(self, *args, permission, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request):
        return can(request.user, self.permission)


def menu_item_class_for(permission):
    """A `CapabilityMenuItem` class for viewsets, which build their menu item themselves."""
    return type("CapabilityMenuItem", (CapabilityMenuItem,), {"permission": permission})


# The permission-policy action behind each of a Wagtail model viewset's screens (by URL name).
VIEW_ACTIONS = {"add": "add", "edit": "change", "delete": "delete", "copy": "add"}


class CapabilityViewSetMixin:
    """A Wagtail model viewset whose every screen needs one capability (`capability`).

    Its menu item, permission policy and the access rule declared on each of its routes all
    come from that one capability.
    """

    capability = None
    capability_actions = ("add", "change", "delete", "view")

    @property
    def permission_policy(self):
        return CapabilityPermissionPolicy(self.model, self.capability, self.capability_actions)

    @property
    def menu_item_class(self):
        return menu_item_class_for(self.capability)

    def get_urlpatterns(self):
        patterns = super().get_urlpatterns()
        for pattern in patterns:
            action = VIEW_ACTIONS.get(pattern.name, "view")
            if action in self.capability_actions:
                declare(pattern.callback, AccessRule("admin", (self.capability,)))
            else:
                declare(pattern.callback, AccessRule("closed"))
        return patterns
