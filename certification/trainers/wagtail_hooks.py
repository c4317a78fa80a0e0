"""Staff screens for trainer certification in the Wagtail admin.

The certification lead (`Perm.LEAD_CERTIFICATION`) sets up tracks, rubrics and question banks
and sees every submission; a reviewer (`Perm.REVIEW_SUBMISSION`) sees the queue of videos
assigned to them. Nobody else sees any of it.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, InlinePanel, ObjectList
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from cms.access import Perm, can, staff
from cms.admin_access import CapabilityMenuItem, CapabilityViewSetMixin, menu_item_class_for
from cms.attention import HOOK, AttentionItem
from cms.untrusted_input import parse_id, query_text

from . import services
from .models import (
    Enrolment,
    Question,
    QuestionBank,
    ReviewerAssignment,
    Rubric,
    RubricCriterion,
    Track,
    VideoSubmission,
)

VS = VideoSubmission.Status


LeadMenuItem = menu_item_class_for(Perm.LEAD_CERTIFICATION)


class ReviewerMenuItem(CapabilityMenuItem):
    def is_shown(self, request):
        return can(request.user, Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)


class LeadViewSet(CapabilityViewSetMixin, ModelViewSet):
    capability = Perm.LEAD_CERTIFICATION
    copy_view_enabled = False
    search_backend_name = None
    add_to_admin_menu = False


class TrackViewSet(LeadViewSet):
    name = "trainers_tracks"
    url_prefix = "certification/setup/tracks"
    model = Track
    icon = "tasks"
    menu_label = _("Tracks and requirements")
    list_display = ["name", "is_open", "max_upload_bytes", "video_retention_days"]


class RubricViewSet(LeadViewSet):
    name = "trainers_rubrics"
    url_prefix = "certification/setup/rubrics"
    model = Rubric
    icon = "list-ul"
    menu_label = _("Rubrics")
    list_display = ["track", "pass_threshold"]


class RubricCriterionViewSet(LeadViewSet):
    name = "trainers_rubric_criteria"
    url_prefix = "certification/setup/rubric-criteria"
    model = RubricCriterion
    icon = "list-ol"
    menu_label = _("Rubric criteria and levels")
    list_display = ["title", "rubric", "required", "minimum_points"]
    list_filter = ["rubric"]

    def get_edit_handler(self):
        return ObjectList(
            [
                FieldPanel("rubric"),
                FieldPanel("title"),
                FieldPanel("description"),
                FieldPanel("required"),
                FieldPanel("minimum_points"),
                FieldPanel("sort_order"),
                InlinePanel("levels", label=_("Levels")),
            ]
        ).bind_to_model(RubricCriterion)


class QuestionBankViewSet(LeadViewSet):
    name = "trainers_question_banks"
    url_prefix = "certification/setup/question-banks"
    model = QuestionBank
    icon = "help"
    menu_label = _("Question banks")
    list_display = ["title", "mode", "pass_mark_percent", "attempt_limit"]


class QuestionViewSet(LeadViewSet):
    name = "trainers_questions"
    url_prefix = "certification/setup/questions"
    model = Question
    icon = "help"
    menu_label = _("Questions and choices")
    list_display = ["text", "bank", "kind"]
    list_filter = ["bank"]

    def get_edit_handler(self):
        return ObjectList(
            [
                FieldPanel("bank"),
                FieldPanel("kind"),
                FieldPanel("text"),
                FieldPanel("sort_order"),
                InlinePanel("choices", label=_("Choices")),
            ]
        ).bind_to_model(Question)


class CertificationSetupGroup(ViewSetGroup):
    # "Certification setup" was cut with "…" in the sidebar; the group holds the tracks
    # and what they are assessed with.
    menu_label = _("Trainer tracks")
    menu_icon = "cogs"
    menu_order = 330
    items = (
        TrackViewSet,
        RubricViewSet,
        RubricCriterionViewSet,
        QuestionBankViewSet,
        QuestionViewSet,
    )


QUEUE_FILTERS = {
    "open": (_("Waiting for a decision"), Q(status__in=[VS.READY, VS.IN_REVIEW])),
    "unassigned": (_("Unassigned"), Q(status=VS.READY, assignments__isnull=True)),
    "overdue": (_("Overdue reviews"), None),
    "failed": (_("Failed processing"), Q(status=VS.FAILED)),
    "decided": (_("Decided"), Q(status__in=list(VideoSubmission.FINAL))),
}


@staff(Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION)
def review_queue(request):
    """Every video waiting for review (the lead), or the ones assigned to me (a reviewer)."""
    user = request.user
    is_lead = services.is_certification_lead(user)
    chosen = request.GET.get("filter", "open")
    if chosen not in QUEUE_FILTERS:
        chosen = "open"
    submissions = VideoSubmission.objects.select_related(
        "enrolment__candidate", "enrolment__track"
    ).annotate(
        reviewers=Count("assignments", distinct=True),
        reviews_done=Count("assignments__review", distinct=True),
    )
    if not is_lead:
        submissions = submissions.filter(assignments__reviewer=user)
    label, condition = QUEUE_FILTERS[chosen]
    if chosen == "overdue":
        submissions = submissions.filter(
            status=VS.IN_REVIEW,
            assignments__due_at__lt=timezone.now(),
            assignments__review__isnull=True,
        )
    else:
        submissions = submissions.filter(condition)
    return render(
        request,
        "certification/trainers/admin/queue.html",
        {
            "page_title": _("Review queue"),
            "header_icon": "media",
            "submissions": submissions.distinct().order_by("created_at"),
            "filters": [(key, value[0]) for key, value in QUEUE_FILTERS.items()],
            "chosen": chosen,
            "chosen_label": label,
            "is_lead": is_lead,
            "stale_after": timezone.now() - timedelta(days=7),
        },
    )


@staff(Perm.LEAD_CERTIFICATION)
def candidates(request):
    """Everyone enrolled, searchable; the lead can enrol a person here too."""
    if request.method == "POST":
        email = request.POST.get("email", "").strip()
        person = get_user_model().objects.filter(email__iexact=email).first()
        track = Track.objects.filter(pk=parse_id(request.POST.get("track"))).first()
        if person is None or track is None:
            messages.error(
                request, _("Choose a track and give the email of a person who has an account.")
            )
        else:
            try:
                services.enrol(track, person, actor=request.user)
                messages.success(
                    request,
                    _("%(person)s is enrolled in %(track)s.")
                    % {"person": person.display_name, "track": track.name},
                )
            except services.CertificationError as error:
                messages.error(request, str(error))
        return redirect("trainers_admin_candidates")
    query = query_text(request, "q").strip()[:100]
    enrolments = Enrolment.objects.select_related("candidate", "track").annotate(
        video_count=Count("videos")
    )
    if query:
        enrolments = enrolments.filter(
            Q(candidate__legal_name__icontains=query)
            | Q(candidate__preferred_name__icontains=query)
            | Q(candidate__email__icontains=query)
        )
    return render(
        request,
        "certification/trainers/admin/candidates.html",
        {
            "page_title": _("Certification candidates"),
            "header_icon": "user",
            "enrolments": enrolments.order_by("candidate__legal_name"),
            "query": query,
            "tracks": Track.objects.all(),
        },
    )


@staff(Perm.LEAD_CERTIFICATION)
def candidate_submissions(request, enrolment_id):
    enrolment = get_object_or_404(
        Enrolment.objects.select_related("candidate", "track"), pk=enrolment_id
    )
    return render(
        request,
        "certification/trainers/admin/candidate.html",
        {
            "page_title": _("%(candidate)s – %(track)s")
            % {"candidate": enrolment.candidate.display_name, "track": enrolment.track.name},
            "header_icon": "user",
            "enrolment": enrolment,
            "states": services.requirement_states(enrolment),
            "videos": enrolment.videos.select_related("requirement").prefetch_related(
                "assignments__reviewer", "assignments__review"
            ),
        },
    )


@hooks.register("register_admin_urls")
def register_trainer_admin_urls():
    return [
        path("certification/queue/", review_queue, name="trainers_admin_queue"),
        path("certification/candidates/", candidates, name="trainers_admin_candidates"),
        path(
            "certification/candidates/<id:enrolment_id>/",
            candidate_submissions,
            name="trainers_admin_candidate",
        ),
    ]


@hooks.register("register_admin_viewset")
def register_certification_setup():
    return CertificationSetupGroup()


@hooks.register("register_admin_menu_item")
def register_review_queue_menu_item():
    return ReviewerMenuItem(
        _("Review queue"), reverse("trainers_admin_queue"), icon_name="media", order=320
    )


@hooks.register("register_admin_menu_item")
def register_candidates_menu_item():
    return LeadMenuItem(
        _("Trainer candidates"),
        reverse("trainers_admin_candidates"),
        icon_name="user",
        order=325,
    )


@hooks.register(HOOK)
def overdue_reviews(user):
    """On the admin home: a reviewer's own overdue reviews; the certification lead sees
    every overdue review."""
    if not can(user, Perm.REVIEW_SUBMISSION, Perm.LEAD_CERTIFICATION):
        return []
    overdue = ReviewerAssignment.objects.filter(
        review__isnull=True,
        due_at__lt=timezone.now(),
        submission__status=VideoSubmission.Status.IN_REVIEW,
    )
    if not can(user, Perm.LEAD_CERTIFICATION):
        overdue = overdue.filter(reviewer=user)
    count = overdue.count()
    if not count:
        return []
    return [
        AttentionItem(
            ngettext(
                "%(count)d video review is overdue", "%(count)d video reviews are overdue", count
            )
            % {"count": count},
            reverse("trainers_admin_queue"),
            tone="warning",
        )
    ]
