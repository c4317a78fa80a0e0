"""The CE administrator's part of the Wagtail admin: rules as data, and the issuing screens.

Only the CE administrator role (and superusers) sees or opens any of it.
"""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from cms.access import Perm
from cms.admin_access import CapabilityMenuItem, CapabilityViewSetMixin

from . import admin_urls
from .models import (
    AccreditingBody,
    CEOffering,
    CESponsor,
    EvaluationQuestion,
    EventCESettings,
    License,
)


class CEModelViewSet(CapabilityViewSetMixin, ModelViewSet):
    capability = Perm.MANAGE_CE_SETUP
    copy_view_enabled = False
    search_backend_name = None


class AccreditingBodyViewSet(CEModelViewSet):
    name = "ce_accrediting_bodies"
    model = AccreditingBody
    icon = "doc-full"
    menu_label = _("Accrediting bodies")
    list_display = ["short_name", "name", "provider_number", "credit_basis", "is_sample_data"]
    search_fields = ["name", "short_name", "provider_number"]


class CESponsorViewSet(CEModelViewSet):
    name = "ce_sponsor"
    model = CESponsor
    icon = "site"
    menu_label = _("Sponsor and signature")
    list_display = ["name", "administrator_name"]


class CEOfferingViewSet(CEModelViewSet):
    name = "ce_offerings"
    model = CEOffering
    icon = "tasks"
    menu_label = _("CE offerings")
    list_display = ["event", "body", "hours", "course_number"]
    list_filter = ["body"]


class EventCESettingsViewSet(CEModelViewSet):
    name = "ce_event_settings"
    model = EventCESettings
    icon = "cog"
    menu_label = _("Event CE settings")
    list_display = ["event", "auto_issue_on_evaluation", "is_recorded"]


class EvaluationQuestionViewSet(CEModelViewSet):
    name = "ce_evaluation_questions"
    model = EvaluationQuestion
    icon = "help"
    menu_label = _("Evaluation questions")
    list_display = ["prompt", "event", "kind", "required"]
    list_filter = ["event", "kind"]


class LicenseViewSet(CEModelViewSet):
    name = "ce_licenses"
    model = License
    icon = "user"
    menu_label = _("Licenses")
    list_display = ["user", "profession", "jurisdiction", "number", "expires_on"]
    search_fields = ["number", "user__email", "user__legal_name"]
    list_filter = ["jurisdiction"]
    form_fields = ["user", "profession", "jurisdiction", "number", "expires_on"]


class CESetupGroup(ViewSetGroup):
    menu_label = _("CE setup")
    menu_icon = "doc-full-inverse"
    menu_order = 310
    items = (
        AccreditingBodyViewSet,
        CESponsorViewSet,
        CEOfferingViewSet,
        EventCESettingsViewSet,
        EvaluationQuestionViewSet,
        LicenseViewSet,
    )


@hooks.register("register_admin_viewset")
def register_ce_setup():
    return CESetupGroup()


@hooks.register("register_admin_urls")
def register_ce_admin_urls():
    return [path("ce/", include(admin_urls, namespace="certification_admin"))]


@hooks.register("register_admin_menu_item")
def register_ce_menu_item():
    return CapabilityMenuItem(
        _("CE certificates"),
        reverse("certification_admin:index"),
        icon_name="doc-full",
        order=300,
        permission=Perm.ISSUE_CERTIFICATES,
    )
