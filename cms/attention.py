"""What needs a staff member's attention, first thing on the admin home.

Each app adds what it knows through the Wagtail hook `staff_attention_items`: a function that
takes the signed-in user and returns `AttentionItem`s for the work that user's role covers
(an empty list when the role does not cover it). The site shell only shows them, so `cms`
never imports the apps that own the data.
"""

from dataclasses import dataclass

from wagtail import hooks
from wagtail.admin.ui.components import Component

HOOK = "staff_attention_items"


@dataclass(frozen=True)
class AttentionItem:
    """One line on the dashboard: what (`label`), where to act (`url`), and a short detail."""

    label: str
    url: str
    detail: str = ""
    # "warning" for something late or blocking, "info" for something to keep an eye on.
    tone: str = "info"


def attention_items(user):
    items = []
    for contribute in hooks.get_hooks(HOOK):
        items.extend(contribute(user))
    return items


class AttentionPanel(Component):
    """The admin home's "Needs your attention" panel, shown above Wagtail's own panels."""

    name = "attention"
    template_name = "cms/admin/attention_panel.html"
    order = 10

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        context["items"] = attention_items(parent_context["request"].user)
        return context
