"""Finance's part of the Wagtail admin. Only the Finance role (and superusers) sees any of it."""

from django.forms import modelform_factory
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail import hooks
from wagtail.admin.menu import Menu
from wagtail.admin.viewsets.model import ModelViewSet

from cms.access import Perm, can
from cms.admin_access import CapabilitySubmenuItem, CapabilityViewSetMixin, menu_item_class_for
from cms.attention import HOOK, AttentionItem
from cms.money import MoneyModelForm
from courses.models import MembershipPlan
from payments import admin_urls
from payments.models import DiscountCode, EventPaymentSettings, MembershipPayment, Order
from payments.reports import overdue_invoice_filter

FinanceMenuItem = menu_item_class_for(Perm.VIEW_FINANCE)


class FinanceModelViewSet(CapabilityViewSetMixin, ModelViewSet):
    capability = Perm.VIEW_FINANCE
    copy_view_enabled = False
    search_backend_name = None
    add_to_admin_menu = False

    def get_form_class(self, for_update=False):
        # Amounts are typed in the currency's units (MoneyField), in the code's or event's
        # currency.
        return modelform_factory(
            self.model,
            form=MoneyModelForm,
            formfield_callback=self.formfield_for_dbfield,
            fields=self.get_form_fields(),
        )


class DiscountCodeViewSet(FinanceModelViewSet):
    model = DiscountCode
    icon = "tag"
    menu_label = _("Discount codes")
    list_display = ["code", "describe", "event", "ticket_type", "max_uses", "valid_until", "active"]
    list_filter = ["active", "kind"]
    search_fields = ["code", "description"]
    form_fields = [
        "code",
        "description",
        "kind",
        "percent_off",
        "amount_off",
        "currency",
        "event",
        "ticket_type",
        "max_uses",
        "valid_from",
        "valid_until",
        "active",
    ]


class EventPaymentSettingsViewSet(FinanceModelViewSet):
    model = EventPaymentSettings
    icon = "cog"
    menu_label = _("Event payment settings")
    list_display = [
        "event",
        "invoice_payment_enabled",
        "invoice_due_days",
        "cancellation_fee_text",
    ]
    form_fields = [
        "event",
        "invoice_payment_enabled",
        "invoice_due_days",
        "invoice_reminder_days_before_due",
        "invoice_release_grace_days",
        "full_refund_days_before",
        "no_refund_days_before",
        "cancellation_fee",
    ]


class MembershipPlanViewSet(FinanceModelViewSet):
    """What the member site sells: Finance sets each plan's price and length."""

    model = MembershipPlan
    icon = "group"
    menu_label = _("Membership plans")
    list_display = ["name", "price_text", "months", "agency_seats", "available"]
    form_fields = [
        "name",
        "description",
        "price",
        "currency",
        "months",
        "agency_seats",
        "group",
        "available",
    ]


discount_codes = DiscountCodeViewSet("payments_discount_codes")
event_payment_settings = EventPaymentSettingsViewSet("payments_event_settings")
membership_plans = MembershipPlanViewSet("payments_membership_plans")


@hooks.register("register_admin_viewset")
def register_finance_viewsets():
    return [discount_codes, event_payment_settings, membership_plans]


@hooks.register("register_admin_urls")
def register_finance_urls():
    return [path("finance/orders/", include(admin_urls, namespace="payments_admin"))]


@hooks.register("register_admin_menu_item")
def register_finance_menu():
    menu = Menu(
        items=[
            FinanceMenuItem(_("Orders"), reverse("payments_admin:orders"), icon_name="list-ul"),
            FinanceMenuItem(_("Revenue"), reverse("payments_admin:revenue"), icon_name="table"),
            FinanceMenuItem(
                _("Discount codes"), reverse(discount_codes.get_url_name("index")), icon_name="tag"
            ),
            FinanceMenuItem(
                _("Event payment settings"),
                reverse(event_payment_settings.get_url_name("index")),
                icon_name="cog",
            ),
            FinanceMenuItem(_("Members"), reverse("payments_admin:members"), icon_name="user"),
            FinanceMenuItem(
                _("Membership plans"),
                reverse(membership_plans.get_url_name("index")),
                icon_name="group",
            ),
        ]
    )
    return CapabilitySubmenuItem(
        _("Finance"), menu, icon_name="doc-full", order=320, permission=Perm.VIEW_FINANCE
    )


@hooks.register(HOOK)
def overdue_invoices_and_flagged_orders(user):
    """For Finance on the admin home: invoices past their due date, orders flagged for a
    person (a wrong amount, a failed refund, a dispute)."""
    if not can(user, Perm.VIEW_FINANCE):
        return []
    orders = reverse("payments_admin:orders")
    items = []
    overdue = Order.objects.filter(**overdue_invoice_filter()).count()
    if overdue:
        items.append(
            AttentionItem(
                ngettext("%(count)d invoice is overdue", "%(count)d invoices are overdue", overdue)
                % {"count": overdue},
                f"{orders}?overdue=1",
                tone="warning",
            )
        )
    flagged = Order.objects.filter(needs_attention=True).count()
    if flagged:
        items.append(
            AttentionItem(
                ngettext(
                    "%(count)d order needs a person to look at it",
                    "%(count)d orders need a person to look at them",
                    flagged,
                )
                % {"count": flagged},
                f"{orders}?attention=1",
                tone="warning",
            )
        )
    waiting = MembershipPayment.objects.filter(status=MembershipPayment.Status.INVOICED).count()
    if waiting:
        items.append(
            AttentionItem(
                ngettext(
                    "%(count)d membership invoice awaits payment",
                    "%(count)d membership invoices await payment",
                    waiting,
                )
                % {"count": waiting},
                reverse("payments_admin:members"),
            )
        )
    return items


@hooks.register("library_join_actions")
def membership_plans_on_sale(request):
    """The members' library's join page links to buying a plan, when one is on sale."""
    if not MembershipPlan.objects.filter(available=True).exists():
        return []
    return [(_("Become a member"), reverse("payments:membership"))]
