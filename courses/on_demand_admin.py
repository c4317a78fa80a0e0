"""The staff action that makes a draft on-demand course from a past live webinar: a button on
the webinar's page in the admin, a confirmation screen, and the copy."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.ui.menus.pages import PageMenuItem

from cms.access import Perm, can, staff
from courses import services
from courses.models import EventPage


def _refusal(webinar, user):
    """Why this person cannot make a course from this page now, or ""."""
    if not services.can_copy_to_on_demand(webinar):
        return _("Only a live webinar that has already taken place can become an on-demand course.")
    if not webinar.get_parent().permissions_for_user(user).can_add_subpage():
        return _("You cannot add pages beside this webinar. Ask an editor to do it.")
    return ""


@staff(Perm.MANAGE_REGISTRATIONS)
def make_on_demand_course(request, event_id):
    """GET: what will be copied, and a button; POST: the copy, then its editor."""
    webinar = get_object_or_404(EventPage, pk=event_id).specific
    refusal = _refusal(webinar, request.user)
    if request.method == "POST" and not refusal:
        try:
            course = services.on_demand_course_from(webinar, actor=request.user)
        except services.RegistrationError as error:
            refusal = error.message
        else:
            messages.success(
                request,
                _(
                    "“%(title)s” is a draft on-demand course. Add the recording, the post-test "
                    "and each body's home-study course number and statement, then publish it."
                )
                % {"title": course.title},
            )
            return redirect("wagtailadmin_pages:edit", course.pk)
    return render(
        request,
        "courses/admin/on_demand_copy.html",
        {
            "page_title": _("Make an on-demand course"),
            "header_icon": "media",
            "webinar": webinar,
            "refusal": refusal,
        },
        status=403 if request.method == "POST" and refusal else 200,
    )


class OnDemandCopyButton(PageMenuItem):
    label = gettext_lazy("Make an on-demand course")
    icon_name = "media"
    priority = 35

    @property
    def url(self):
        return reverse("courses_on_demand_copy", args=[self.page.pk])

    def is_shown(self, user):
        page = self.page.specific_deferred
        return (
            isinstance(page, EventPage)
            and services.can_copy_to_on_demand(page)
            and can(user, Perm.MANAGE_REGISTRATIONS)
        )


urlpatterns = [
    path(
        "events/<id:event_id>/on-demand/",
        make_on_demand_course,
        name="courses_on_demand_copy",
    )
]
