"""The CE administrator's part of the Wagtail admin: rules as data, the issuing screens, and
the admin home's list of certificates still to issue.

Only the CE administrator role (and superusers) sees or opens any of it.
"""

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import include, path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail import hooks
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from cms.access import Perm, can
from cms.admin_access import CapabilityMenuItem, CapabilityViewSetMixin
from cms.attention import HOOK, AttentionItem
from cms.publishing import WORKFLOW_APPROVAL_HOOK, approval_publishes
from courses.models import EventPage
from courses.publishing import EVENT_GO_LIVE_HOOK

from . import admin_urls, queries, services
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


# How far back the admin home looks for finished events with certificates still to issue.
ISSUE_LOOKBACK = timedelta(days=90)
EVENTS_CHECKED = 5


@hooks.register(HOOK)
def certificates_to_issue(user):
    """For the CE administrator on the admin home: finished CE events whose eligible
    attendees have no certificate yet."""
    if not can(user, Perm.ISSUE_CERTIFICATES):
        return []
    now = timezone.now()
    events = (
        EventPage.objects.filter(
            ce_offerings__isnull=False, ends_at__lt=now, ends_at__gte=now - ISSUE_LOOKBACK
        )
        .distinct()
        .order_by("-ends_at")[:EVENTS_CHECKED]
    )
    items = []
    for event in events:
        waiting = sum(1 for row in services.event_roster(event, now=now) if row.is_eligible)
        if waiting:
            items.append(
                AttentionItem(
                    ngettext(
                        "%(count)d attendee of %(event)s is eligible for a CE certificate "
                        "not yet issued",
                        "%(count)d attendees of %(event)s are eligible for CE certificates "
                        "not yet issued",
                        waiting,
                    )
                    % {"count": waiting, "event": event.title},
                    reverse("certification_admin:event", args=[event.pk]),
                    tone="warning",
                )
            )
    return items


# How far back the admin home looks for CE Broker rosters not yet reported: boards expect
# attendance within weeks of the program.
REPORT_LOOKBACK = timedelta(days=120)


@hooks.register(HOOK)
def ce_broker_rosters_to_report(user):
    """For the CE administrator: finished events whose CE Broker roster has licensees not yet
    reported (or refused ones to fix first), counted as the CE dashboard counts them."""
    if not can(user, Perm.ISSUE_CERTIFICATES):
        return []
    now = timezone.now()
    events = list(
        EventPage.objects.filter(
            ce_offerings__body__reports_to_ce_broker=True,
            ends_at__lt=now,
            ends_at__gte=now - REPORT_LOOKBACK,
        )
        .distinct()
        .order_by("-ends_at")[:EVENTS_CHECKED]
    )
    items = []
    for event_id, counts in queries.ce_broker_counts(events).items():
        if not counts.pending and not counts.refused:
            continue
        event = next(e for e in events if e.pk == event_id)
        detail = (
            ngettext(
                "%(count)d licensee refused: fix before exporting",
                "%(count)d licensees refused: fix before exporting",
                counts.refused,
            )
            % {"count": counts.refused}
            if counts.refused
            else ""
        )
        items.append(
            AttentionItem(
                ngettext(
                    "CE Broker roster of %(event)s: %(count)d licensee not yet reported",
                    "CE Broker roster of %(event)s: %(count)d licensees not yet reported",
                    counts.pending,
                )
                % {"count": counts.pending, "event": event.title},
                reverse("certification_admin:event", args=[event.pk]),
                detail=detail,
                tone="warning" if counts.refused else "info",
            )
        )
    return items


# -- a CE offer needs a CE offering ----------------------------------------------------------


def _publish_refusal(page, *, draft_kept=True):
    """The editor's message when `page` sells or promises CE without any CE offering."""
    if not isinstance(page, EventPage):
        if not issubclass(page.specific_class or object, EventPage):
            return None
        page = page.specific
    if queries.has_offering(page):
        return None
    reasons = queries.ce_promises(page)
    if not reasons:
        return None
    return queries.missing_offering_message(page, reasons, draft_kept=draft_kept)


@hooks.register("before_publish_page")
def refuse_ce_without_offering(request, page):
    """Publishing (now or scheduled, from the edit or create view) stops before the revision
    goes live: the draft is kept and the editor is sent back to it with what to do."""
    refusal = _publish_refusal(page)
    if refusal is None:
        return None
    messages.error(request, refusal)
    return redirect("wagtailadmin_pages:edit", page.pk)


@hooks.register("before_edit_page")
def refuse_workflow_approval_of_ce_without_offering(request, page):
    """A moderator's approval of a workflow's last task publishes the page: refused from the
    edit view like a publish, before anything is saved or approved."""
    if request.method != "POST" or not request.POST.get("action-workflow-action"):
        return None
    if request.POST.get("workflow-action-name") != "approve":
        return None
    task_state = page.current_workflow_task_state
    if task_state is None or not approval_publishes(task_state):
        return None  # an earlier task: approving it publishes nothing yet
    refusal = _publish_refusal(page, draft_kept=False)  # the latest revision, as edited
    if refusal is None:
        return None
    messages.error(request, refusal)
    return redirect("wagtailadmin_pages:edit", page.pk)


@hooks.register(WORKFLOW_APPROVAL_HOOK)
def refuse_approval_screen_publishing_ce_without_offering(request, page, revision):
    """The same approval from Wagtail's workflow action screen (the dashboard's "Approve"),
    judged on the revision it would publish."""
    if not isinstance(page, EventPage):
        return None
    return _publish_refusal(revision.as_object(), draft_kept=False)


@hooks.register(EVENT_GO_LIVE_HOOK)
def refuse_go_live_of_ce_without_offering(event):
    """A scheduled publication, when its time comes: the offering may have gone since."""
    return _publish_refusal(event, draft_kept=False)


@hooks.register("before_bulk_action")
def refuse_bulk_publish_of_ce_without_offering(request, action_type, objects, action):
    """The page listing's bulk Publish: nothing is published while one of the chosen events
    sells or promises CE without a CE offering."""
    if action_type != "publish":
        return None
    # Bulk Publish publishes each page's latest revision: judge that, not the live row.
    refusals = [
        _publish_refusal(page.get_latest_revision_as_object(), draft_kept=False)
        for page in objects
        if issubclass(page.specific_class or object, EventPage)
    ]
    refusals = [refusal for refusal in refusals if refusal]
    if not refusals:
        return None
    for refusal in refusals:
        messages.error(request, refusal)
    return redirect("wagtailadmin_explore_root")


@hooks.register(HOOK)
def events_missing_ce_offerings(user):
    """For CE staff on the admin home: live events that sell or promise CE with no CE
    offering, so no certificate could be issued for them."""
    if not (can(user, Perm.MANAGE_CE_SETUP) or can(user, Perm.ISSUE_CERTIFICATES)):
        return []
    return [
        AttentionItem(
            missing.label,
            reverse("certification_admin:index"),
            detail=_("Add a CE offering for this event, or remove the CE add-on."),
            tone="warning",
        )
        for missing in queries.events_missing_offerings()
    ]
