"""Wagtail publishes a page from more places than its edit view, and an app's rule about what
may go live has to hold in each of them.

The edit and create views, and bulk Publish, have Wagtail hooks that run before anything is
saved (`before_publish_page`, `before_edit_page`, `before_bulk_action`). The workflow action
screen (a moderator's "Approve" from the dashboard or the page listing, which publishes the
page when it approves the workflow's last task) has none, so this module gives it one:

- `WORKFLOW_APPROVAL_HOOK` (`before_workflow_approval`): functions taking
  `(request, page, revision)` for an approval that would publish `revision`; one that returns
  a message refuses it, and the moderator is sent to the page's edit view with that message.
  Nothing is approved.

The scheduled go-live (`publish_scheduled`, run by the worker) has no request at all; the
page type that guards publication refuses it in its own `publish` and records why (see
`courses.publishing`).
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from wagtail import hooks
from wagtail.admin.modal_workflow import render_modal_workflow
from wagtail.models import Page, TaskState

WORKFLOW_APPROVAL_HOOK = "before_workflow_approval"
WORKFLOW_ACTION_VIEW = "wagtailadmin_pages:workflow_action"


def approval_publishes(task_state):
    """Whether approving `task_state` now finishes its workflow, so publishes the page."""
    workflow_state = task_state.workflow_state
    last = workflow_state.workflow.workflow_tasks.order_by("-sort_order").first()
    return last is not None and last.task_id == task_state.task_id


def workflow_approval_refusal(request, page, revision):
    """The first refusal a `before_workflow_approval` hook gives, or None."""
    for refuse in hooks.get_hooks(WORKFLOW_APPROVAL_HOOK):
        message = refuse(request, page, revision)
        if message:
            return message
    return None


class WorkflowApprovalMiddleware:
    """Runs the `before_workflow_approval` hooks before Wagtail's workflow action screen
    approves a page's last task."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name != WORKFLOW_ACTION_VIEW:
            return None
        if view_kwargs.get("action_name") != "approve":
            return None
        task_state = (
            TaskState.objects.select_related("workflow_state__workflow", "revision")
            .filter(pk=view_kwargs.get("task_state_id"), status=TaskState.STATUS_IN_PROGRESS)
            .first()
        )
        page = Page.objects.filter(pk=view_kwargs.get("page_id")).first()
        if task_state is None or page is None or not approval_publishes(task_state):
            return None  # Wagtail's own view refuses what is not a pending last approval
        refusal = workflow_approval_refusal(request, page.specific, task_state.revision)
        if refusal is None:
            return None
        messages.error(request, refusal)
        edit_url = reverse("wagtailadmin_pages:edit", args=[page.pk])
        if request.headers.get("x-requested-with") == "XMLHttpRequest":
            # The action modal follows the redirect its "success" step names.
            return render_modal_workflow(
                request, "", None, {}, json_data={"step": "success", "redirect": edit_url}
            )
        return redirect(edit_url)
