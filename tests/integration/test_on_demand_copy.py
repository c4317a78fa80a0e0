"""Making an on-demand course from a past live webinar: one staff action copies what describes
it into a draft home-study course, with its CE set up as home study; the editor then accepts
the course without a schedule, while a live event still needs one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from certification import factories as ce_factories
from certification.models import CEOffering, EvaluationQuestion, EventCESettings
from cms.audit import history
from cms.roles import EDITOR, EVENT_MANAGER, FINANCE
from courses.factories import make_event
from courses.models import EventFormat, EventPage, Presenter
from tests.integration.test_board_approvals import _edit_form, _text
from tests.integration.test_post_tests import make_bank

pytestmark = pytest.mark.django_db


def _past_webinar():
    start = timezone.now() - timedelta(days=7)
    webinar = make_event(
        title="December webinar with David Prescott",
        format=EventFormat.WEBINAR,
        sessions=[("Feedback in supervision", start, 90, 90)],
        price=4500,
        summary="Feedback-informed supervision, live.",
        learning_objectives="<ul><li>Use the ORS in supervision</li></ul>",
    )
    webinar.presenters.add(Presenter.objects.create(name="David Prescott"))
    webinar.save_revision().publish()
    body = ce_factories.make_body()
    ce_factories.make_offering(webinar, body)
    EvaluationQuestion.objects.create(event=webinar, kind="rating", prompt="How useful was it?")
    return webinar


def test_staff_make_a_draft_on_demand_course_from_a_past_webinar(client, staff_signed_in):
    webinar = _past_webinar()
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")

    edit = client.get(f"/admin/pages/{webinar.pk}/edit/")
    assert "Make an on-demand course" in _text(edit)
    confirm = client.get(f"/admin/events/{webinar.pk}/on-demand/")
    assert "It copies the presenters, summary, description, learning objectives" in _text(confirm)
    response = client.post(f"/admin/events/{webinar.pk}/on-demand/", follow=True)

    course = EventPage.objects.get(format=EventFormat.ON_DEMAND)
    assert "is a draft on-demand course. Add the recording" in _text(response)
    assert course.title == "December webinar with David Prescott (on demand)"
    assert not course.live
    assert course.get_parent().pk == webinar.get_parent().pk
    assert [p.name for p in course.presenters.all()] == ["David Prescott"]
    assert course.summary == webinar.summary
    assert "Use the ORS in supervision" in course.learning_objectives
    assert [t.price for t in course.ticket_types.all()] == [4500]
    assert not course.sessions.exists()
    settings = EventCESettings.objects.get(event=course)
    assert settings.is_recorded
    offering = CEOffering.objects.get(event=course)
    assert offering.hours == webinar.ce_offerings.get().hours
    assert offering.course_number == ""  # a home-study course has its own number
    assert [q.prompt for q in course.evaluation_questions.all()] == ["How useful was it?"]
    assert history(course)[0].action == "courses.event.on_demand_copy"


def test_a_course_without_sessions_saves_but_a_live_event_needs_one(client, staff_signed_in):
    webinar = _past_webinar()
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    client.post(f"/admin/events/{webinar.pk}/on-demand/")
    course = EventPage.objects.get(format=EventFormat.ON_DEMAND)

    data = _edit_form(client, course)
    data["summary"] = "Watch it when it suits you."
    saved = client.post(f"/admin/pages/{course.pk}/edit/", data, follow=True)
    assert "Add at least one session" not in _text(saved)
    course.refresh_from_db()
    assert course.get_latest_revision().as_object().summary == "Watch it when it suits you."

    data = _edit_form(client, webinar)
    data["sessions-0-DELETE"] = "1"
    refused = client.post(f"/admin/pages/{webinar.pk}/edit/", data, follow=True)
    assert "Add at least one session to the schedule." in _text(refused)


def test_only_a_past_webinar_can_be_copied(client, staff_signed_in):
    upcoming = make_event(format=EventFormat.WEBINAR)
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")

    assert "Make an on-demand course" not in _text(client.get(f"/admin/pages/{upcoming.pk}/edit/"))
    response = client.post(f"/admin/events/{upcoming.pk}/on-demand/")

    assert response.status_code == 403
    assert "Only a live webinar that has already taken place" in _text(response)
    assert not EventPage.objects.filter(format=EventFormat.ON_DEMAND).exists()


@pytest.mark.parametrize("role", [FINANCE, EDITOR])
def test_staff_without_event_rights_cannot_copy(client, staff_signed_in, role):
    webinar = _past_webinar()
    staff_signed_in(role, email="someone@example.org")

    response = client.post(f"/admin/events/{webinar.pk}/on-demand/")

    assert response.status_code in (302, 403)
    assert not EventPage.objects.filter(format=EventFormat.ON_DEMAND).exists()


def test_published_courses_are_listed_on_demand_and_not_as_upcoming(client, staff_signed_in):
    webinar = _past_webinar()
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    client.post(f"/admin/events/{webinar.pk}/on-demand/")
    course = EventPage.objects.get(format=EventFormat.ON_DEMAND)
    course.save_revision().publish()
    index = course.get_parent()
    visitor = client.__class__()

    on_demand = _text(visitor.get(f"{index.url}?when=on_demand"))
    upcoming = _text(visitor.get(index.url))
    page = _text(visitor.get(course.url))

    assert "December webinar with David Prescott (on demand)" in on_demand
    assert "December webinar with David Prescott (on demand)" not in upcoming
    assert "On demand: watch the recording at any time, at your own pace." in page


def test_a_course_page_speaks_of_home_study_not_of_seats_venues_or_attendance(
    client, staff_signed_in
):
    webinar = _past_webinar()
    body = CEOffering.objects.get(event=webinar).body
    body.home_study_watched_percent = 80
    body.save()
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    client.post(f"/admin/events/{webinar.pk}/on-demand/")
    course = EventPage.objects.get(format=EventFormat.ON_DEMAND)
    CEOffering.objects.filter(event=course).update(
        home_study_statement="Approved for home study (sample)."
    )
    # The body asks for a post-test: without one its approval is not advertised at all.
    EventCESettings.objects.filter(event=course).update(post_test=make_bank())
    course.save_revision().publish()
    visitor = client.__class__()

    html = visitor.get(course.url).content.decode()
    page = _text(visitor.get(course.url))

    assert "Watched online at any time." in page
    assert "Venue" not in page and "seats left" not in page and "seat left" not in page
    assert "Approved for home study (sample)." in page
    assert "Home study: Credit for the whole program once you have watched at least 80% of" in page
    assert "Attendance and partial credit" not in page
    assert "OnlineEventAttendanceMode" in html and "OfflineEventAttendanceMode" not in html
