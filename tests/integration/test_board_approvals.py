"""Approvals before purchase: the event page and the registration summary show each body's
approval statement, provider and course numbers, hours in that body's unit, its attendance
policy in plain words, the CE fee and the learning objectives. An event that sells or
promises CE without a CE offering cannot be published, and the CE dashboard lists it first,
with the CE Broker counts per event."""

import io
import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from wagtail.models import GroupApprovalTask, Workflow, WorkflowState, WorkflowTask

from certification import demo as ce_demo
from certification import queries, services
from certification.factories import (
    ce_settings,
    make_body,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.factories import make_event as make_ce_event
from certification.models import (
    CEBrokerBatch,
    CEBrokerReportedRow,
    CEOffering,
    CreditBasis,
    EvaluationResponse,
)
from cms.roles import CE_ADMINISTRATOR, EVENT_MANAGER
from cms.tasks import publish_scheduled_pages
from courses import attendance
from courses import demo as courses_demo
from courses.factories import UserFactory, make_event
from courses.models import EventPage
from tests.fakestripe.helpers import hold_seats

pytestmark = [pytest.mark.django_db, pytest.mark.board]

OBJECTIVES = (
    "<ul><li>Explain how feedback-informed supervision differs from routine supervision</li>"
    "<li>Use client feedback to pick the cases to discuss in supervision</li></ul>"
)
APA_STATEMENT = (
    "The sponsor is approved by the American Psychological Association to sponsor continuing "
    "education for psychologists."
)


def _text(response):
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _fit_supervision(**fields):
    """Three 6-hour days (1080 CE minutes) with a $75 CE add-on and learning objectives."""
    return make_event(
        title="FIT Supervision Training",
        days=3,
        price=89500,
        add_ons=[("Continuing education units", 7500, True)],
        learning_objectives=OBJECTIVES,
        **fields,
    )


def _approve(event):
    apa = make_body(
        "APA",
        approval_statement=APA_STATEMENT,
        provider_number="SAMPLE-APA-1234",
        credit_basis=CreditBasis.PER_SESSION,
        late_grace_minutes=10,
        evaluation_required=True,
    )
    nbcc = make_body(
        "NBCC",
        name="National Board for Certified Counselors",
        approval_statement="Approved by NBCC as an Approved Continuing Education Provider.",
        provider_number="SAMPLE-NBCC-77",
        minutes_per_credit=50,
        credit_basis=CreditBasis.FULL_PROGRAM,
        credit_increment=Decimal("0.5"),
        late_grace_minutes=0,
        evaluation_required=False,
    )
    florida = make_body(
        "FL 491",
        name="Florida Board 491",
        approval_statement="Approved provider for Florida's Board 491, provider 50-0001.",
        provider_number="50-0001",
        minutes_per_credit=50,
        credit_basis=CreditBasis.PER_HOUR,
        credit_increment=Decimal("0.25"),
        late_grace_minutes=5,
        posttest_required_for_recorded=False,
    )
    make_offering(event, apa, hours=Decimal("18"), course_number="APA-FITS-01")
    make_offering(event, florida, hours=Decimal("21.8"), course_number="20-777777")
    # 1080 minutes are 21.6 fifty-minute hours: NBCC gives credit in half hours, so 21.5.
    make_offering(event, nbcc, hours=Decimal("21.6"), course_number="NBCC-FITS-02")
    return apa, nbcc


def test_the_event_page_shows_each_bodys_approval_before_purchase(client):
    event = _fit_supervision()
    _approve(event)

    text = _text(client.get(event.url))

    assert APA_STATEMENT in text
    assert "Approved by NBCC as an Approved Continuing Education Provider." in text
    assert "Provider number SAMPLE-APA-1234" in text
    assert "Course number APA-FITS-01" in text
    assert "Provider number SAMPLE-NBCC-77" in text and "Course number NBCC-FITS-02" in text
    assert "18 hours (60-minute hours)" in text
    assert "21.5 hours (50-minute hours)" in text and "21.6" not in text
    # APA comes before NBCC (body order), each with its own policy in plain words.
    apa_at, nbcc_at = text.index(APA_STATEMENT), text.index("Approved by NBCC")
    assert apa_at < nbcc_at
    apa_part, nbcc_part = text[apa_at:nbcc_at], text[nbcc_at:]
    assert (
        "Credit for each session you attend in full; none for a session you miss part of." in text
    )
    assert "Missing up to 10 minutes of a session in total (arriving late and leaving early" in text
    assert "You must complete the program evaluation to receive a certificate." in apa_part
    assert "Credit only for attending the whole program; no partial credit." in nbcc_part
    assert "even by a minute, counts as missing the session" in nbcc_part
    assert "program evaluation" not in nbcc_part.split("CE fee")[0]
    florida_part = text[text.index("Florida Board 491") : nbcc_at]
    assert "21.75 hours (50-minute hours)" in florida_part
    assert "Provider number 50-0001" in florida_part and "Course number 20-777777" in florida_part
    assert (
        "Credit for the time you attend, counted in 50-minute hours and rounded down to "
        "0.25 hours." in florida_part
    )
    assert "Missing up to 5 minutes of a session in total" in florida_part
    assert "CE fee: $75.00 for each attendee who wants CE credit" in text
    assert "Learning objectives" in text
    assert "Use client feedback to pick the cases to discuss in supervision" in text
    assert "Up to 18 CE hours" not in text


def test_an_event_without_offerings_keeps_its_hours_and_shows_its_objectives(client):
    event = make_event(title="Open Evening", days=1, learning_objectives=OBJECTIVES)

    text = _text(client.get(event.url))

    assert "Up to 6 CE hours (60-minute hours)." in text
    assert "Explain how feedback-informed supervision differs from routine supervision" in text
    assert "Provider number" not in text


def test_approvals_that_could_give_no_credit_are_not_advertised(client):
    event = _fit_supervision()
    apa, nbcc = _approve(event)
    nbcc.approved_until = timezone.localdate() - timedelta(days=1)  # lapsed before the event
    nbcc.save()
    ce_settings(event, is_recorded=True)  # APA needs a post-test for a recording
    apa.posttest_required_for_recorded = True
    apa.save()

    text = _text(client.get(event.url))

    assert "Florida Board 491" in text  # no post-test rule, approval in effect
    assert APA_STATEMENT not in text
    assert "Approved by NBCC" not in text


def test_a_changed_approval_shows_at_once_on_the_cached_event_page(client):
    event = _fit_supervision()
    apa, _nbcc = _approve(event)
    assert "SAMPLE-APA-1234" in _text(client.get(event.url))

    apa.provider_number = "SAMPLE-APA-9999"
    apa.save()
    offering = event.ce_offerings.get(body=apa)
    offering.course_number = "APA-FITS-NEW"
    offering.save()

    text = _text(client.get(event.url))
    assert "Provider number SAMPLE-APA-9999" in text
    assert "Course number APA-FITS-NEW" in text

    ce_settings(event, is_recorded=True)  # APA needs a post-test for a recording
    assert "SAMPLE-APA-9999" not in _text(client.get(event.url))


def test_the_registration_summary_shows_the_approvals(client):
    event = _fit_supervision()
    _approve(event)
    buyer = UserFactory()
    booking = hold_seats(event=event, buyer=buyer)
    client.force_login(buyer)

    text = _text(client.get(reverse("courses:booking_summary", args=[booking.public_id])))

    assert "Continuing education" in text
    assert APA_STATEMENT in text
    assert "Provider number SAMPLE-APA-1234" in text and "Course number NBCC-FITS-02" in text
    assert "18 hours (60-minute hours)" in text and "21.5 hours (50-minute hours)" in text
    assert "Credit only for attending the whole program" in text
    assert "CE fee: $75.00" in text


# -- publish refusal ----------------------------------------------------------------------


class _FormFields(HTMLParser):
    """The fields of the admin's page edit form as a browser would post them (no JS)."""

    def __init__(self):
        super().__init__()
        self.data = {}
        self._select = None
        self._textarea = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "page-edit-form":
            self._in_form = True
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
                return
            self.data[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            if "multiple" in attrs:
                self.data.setdefault(name, [])
            else:
                self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            if isinstance(self.data[self._select], list):
                self.data[self._select].append(attrs.get("value", ""))
            else:
                self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False

    def handle_data(self, data):
        if self._textarea:
            # Browsers drop the newline that follows <textarea>.
            value = self.data[self._textarea] + data
            self.data[self._textarea] = value.removeprefix("\n")


def _edit_form(client, event):
    response = client.get(f"/admin/pages/{event.pk}/edit/")
    assert response.status_code == 200
    parser = _FormFields()
    parser.feed(response.content.decode())
    data = parser.data
    data.setdefault("description-count", "0")
    return data


def test_an_event_selling_ce_without_an_offering_cannot_be_published(client, staff_signed_in):
    event = _fit_supervision()
    EventPage.objects.filter(pk=event.pk).update(live=False)  # a draft, as staff create one
    event.refresh_from_db()
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    data = _edit_form(client, event)
    data["title"] = "FIT Supervision Training 2027"
    data["action-publish"] = "action-publish"

    response = client.post(f"/admin/pages/{event.pk}/edit/", data, follow=True)

    text = _text(response)
    assert response.status_code == 200
    assert (
        "“FIT Supervision Training 2027” was not published: it sells the CE add-on "
        "“Continuing education units” for $75.00" in text
    )
    assert "but it has no CE offering, so no CE certificate could ever be issued for it" in text
    assert (
        "Add a CE offering for this event under CE setup › CE offerings, or remove the CE add-on"
        in text
    )
    assert "Your changes are saved as a draft." in text
    event.refresh_from_db()
    assert not event.live
    assert event.get_latest_revision().as_object().title == "FIT Supervision Training 2027"
    assert client.get(event.url or "/events/nowhere/").status_code == 404


def test_adding_a_ce_add_on_to_a_live_event_is_not_published(client, staff_signed_in):
    start = timezone.now() + timedelta(days=30)
    event = make_event(title="Open Evening", sessions=[("Talk", start, 90, 0)])
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    data = _edit_form(client, event)
    data.update(
        {
            "add_ons-TOTAL_FORMS": "1",
            "add_ons-0-name": "CE certificate",
            "add_ons-0-price": "25.00",
            "add_ons-0-grants_ce": "on",
            "add_ons-0-ORDER": "1",
            "action-publish": "action-publish",
        }
    )

    response = client.post(f"/admin/pages/{event.pk}/edit/", data, follow=True)

    text = _text(response)
    assert (
        "“Open Evening” was not published: it sells the CE add-on “CE certificate” for $25.00"
        in text
    )
    assert "or remove the CE add-on, before publishing" in text
    event.refresh_from_db()
    assert event.live and not event.add_ons.exists()  # the live page is as it was
    assert [a.name for a in event.get_latest_revision().as_object().add_ons.all()] == [
        "CE certificate"
    ]
    assert "CE fee" not in _text(client.get(event.url))


def test_a_moderator_cannot_approve_it_into_publication_either(client, staff_signed_in):
    event = _fit_supervision()
    EventPage.objects.filter(pk=event.pk).update(live=False)
    event.refresh_from_db()
    task = GroupApprovalTask.objects.create(name="Event manager approval")
    task.groups.set([Group.objects.get(name=EVENT_MANAGER)])
    workflow = Workflow.objects.create(name="Events")
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    manager = staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event.save_revision(user=manager)
    workflow.start(event, manager)
    data = _edit_form(client, event)
    data.update({"action-workflow-action": "true", "workflow-action-name": "approve"})

    response = client.post(f"/admin/pages/{event.pk}/edit/", data, follow=True)

    text = _text(response)
    assert "“FIT Supervision Training” was not published: it sells the CE add-on" in text
    event.refresh_from_db()
    assert not event.live
    assert event.current_workflow_state.status == WorkflowState.STATUS_IN_PROGRESS


def _in_moderation(event, manager):
    """`event` as a draft submitted to a one-task workflow that event managers approve."""
    EventPage.objects.filter(pk=event.pk).update(live=False)
    event.refresh_from_db()
    task = GroupApprovalTask.objects.create(name="Event manager approval")
    task.groups.set([Group.objects.get(name=EVENT_MANAGER)])
    workflow = Workflow.objects.create(name="Events")
    WorkflowTask.objects.create(workflow=workflow, task=task, sort_order=0)
    event.save_revision(user=manager)
    workflow.start(event, manager)
    return event.current_workflow_task_state


@pytest.mark.parametrize("from_the_modal", [False, True])
def test_the_workflow_action_screen_cannot_approve_it_into_publication(
    client, staff_signed_in, from_the_modal
):
    """The dashboard's "Approve" posts to Wagtail's workflow action screen, not the edit view;
    as a plain form or from its modal (XHR)."""
    manager = staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = _fit_supervision()
    task_state = _in_moderation(event, manager)
    url = f"/admin/pages/workflow/action/{event.pk}/approve/{task_state.pk}/"
    headers = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"} if from_the_modal else {}

    response = client.post(url, {"comment": ""}, **headers)

    edit_url = f"/admin/pages/{event.pk}/edit/"
    if from_the_modal:
        assert response.json()["step"] == "success"
        assert response.json()["redirect"] == edit_url
    else:
        assert response.status_code == 302 and response.url == edit_url
    text = _text(client.get(edit_url))
    assert "“FIT Supervision Training” was not published: it sells the CE add-on" in text
    event.refresh_from_db()
    assert not event.live
    task_state.refresh_from_db()
    assert task_state.status == task_state.STATUS_IN_PROGRESS  # nothing was approved


def test_with_an_offering_the_workflow_action_screen_approves_and_publishes(
    client, staff_signed_in
):
    manager = staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    event = _fit_supervision()
    _approve(event)
    task_state = _in_moderation(event, manager)

    client.post(f"/admin/pages/workflow/action/{event.pk}/approve/{task_state.pk}/", {})

    event.refresh_from_db()
    assert event.live


def test_a_scheduled_publication_is_judged_when_it_goes_live(client, staff_signed_in):
    """Scheduled with its offerings in place; an offering deleted before the time comes."""
    event = _fit_supervision()
    _approve(event)
    EventPage.objects.filter(pk=event.pk).update(live=False)
    event.refresh_from_db()
    revision = event.save_revision()
    revision.approved_go_live_at = timezone.now() - timedelta(minutes=1)  # due now
    revision.save(update_fields=["approved_go_live_at"])
    offerings = list(CEOffering.objects.filter(event=event))
    CEOffering.objects.filter(event=event).delete()

    call_command("publish_scheduled", stdout=io.StringIO())

    event.refresh_from_db()
    assert not event.live
    revision.refresh_from_db()
    assert revision.approved_go_live_at is None  # not retried on every run
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    home = _text(client.get("/admin/"))
    assert "FIT Supervision Training was not published at its scheduled time" in home
    assert "it sells the CE add-on “Continuing education units” for $75.00" in home
    history = _text(client.get(f"/admin/pages/{event.pk}/history/"))
    assert "Scheduled publication refused: “FIT Supervision Training” was not published" in history

    for offering in offerings:  # the offerings back, staff publish by hand: the warning goes
        offering.pk = None
        offering.save()
    event.save_revision().publish()
    assert "was not published at its scheduled time" not in _text(client.get("/admin/"))


def test_a_scheduled_publication_with_its_offering_goes_live(settings):
    event = _fit_supervision()
    _approve(event)
    EventPage.objects.filter(pk=event.pk).update(live=False)
    revision = EventPage.objects.get(pk=event.pk).save_revision()
    revision.approved_go_live_at = timezone.now() - timedelta(minutes=1)
    revision.save(update_fields=["approved_go_live_at"])

    publish_scheduled_pages()  # what beat runs every minute

    assert EventPage.objects.get(pk=event.pk).live
    beat = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert beat["cms.tasks.publish_scheduled_pages"] <= 60


def test_bulk_publish_from_the_page_listing_is_refused_too(client, staff_signed_in):
    event = _fit_supervision()
    EventPage.objects.filter(pk=event.pk).update(live=False)
    event.refresh_from_db()
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    url = f"/admin/bulk/wagtailcore/page/publish/?id={event.pk}&next=/admin/pages/"

    response = client.post(url, {"include_descendants": ""}, follow=True)

    assert "“FIT Supervision Training” was not published: it sells the CE add-on" in _text(response)
    event.refresh_from_db()
    assert not event.live


def test_with_an_offering_the_same_event_publishes(client, staff_signed_in):
    event = _fit_supervision()
    EventPage.objects.filter(pk=event.pk).update(live=False)
    event.refresh_from_db()
    _approve(event)
    staff_signed_in(EVENT_MANAGER, email="manager@example.org")
    data = _edit_form(client, event)
    data["action-publish"] = "action-publish"

    response = client.post(f"/admin/pages/{event.pk}/edit/", data, follow=True)

    assert "was not published" not in _text(response)
    event.refresh_from_db()
    assert event.live


# -- the CE dashboard -----------------------------------------------------------------------


def _certified(event, name, number):
    email = name.lower().replace(" ", ".") + "@example.org"
    registration = make_registration(
        event,
        name=name,
        user=make_user(email, name),
        license_number=number,
        license_jurisdiction="FL",
        profession="Mental health counselor",
    )
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return services.issue_certificate(registration, notify=False)


def test_the_ce_dashboard_lists_events_without_offerings_first_and_counts_ce_broker_rows(
    client, staff_signed_in, django_assert_max_num_queries
):
    make_sponsor()
    _fit_supervision()
    workshop = make_ce_event("Outcome Measures Workshop")
    florida = make_body(
        "FL 491",
        name="Florida Board 491",
        jurisdiction="FL",
        provider_number="50-1234",
        reports_to_ce_broker=True,
        credit_basis=CreditBasis.FULL_PROGRAM,
        license_number_pattern=r"^MH\d{3,7}$",
        ce_broker_profession_codes={"Mental health counselor": "1803"},
    )
    make_offering(workshop, florida, hours=Decimal("5"), course_number="20-123456")
    people = ["Ana Souza", "Ben Okafor", "Cleo Park", "Dev Rao", "Eve Stone"]
    numbers = ["MH1001", "MH1002", "MH2002", "MH2002", "bad-number"]
    certificates = [
        _certified(workshop, name, number) for name, number in zip(people, numbers, strict=True)
    ]
    batch = CEBrokerBatch.objects.create(event=workshop, body=florida)
    CEBrokerReportedRow.objects.create(
        batch=batch,
        certificate=certificates[0],
        registration=certificates[0].registration,
        license_number="MH1001",
    )
    staff_signed_in(CE_ADMINISTRATOR, email="ce@example.org")

    with django_assert_max_num_queries(40):
        response = client.get("/admin/ce/")

    text = _text(response)
    assert (
        "FIT Supervision Training sells the CE add-on “Continuing education units” for $75.00"
        in text
    )
    assert "but has no CE offering – certificates cannot be issued" in text
    assert text.index("FIT Supervision Training") < text.index("Outcome Measures Workshop")
    html = response.content.decode()
    assert 'href="/admin/ce_offerings/new/"' in html or "/admin/ce_offerings/" in html
    # Ana was reported; Ben waits; Cleo and Dev share a license and Eve's is malformed.
    assert "1 reported, 1 pending, 3 refused" in text
    assert "export blocked until fixed" in text

    home = _text(client.get("/admin/"))
    assert "FIT Supervision Training sells the CE add-on" in home


def test_the_demo_fit_supervision_training_has_its_offerings_and_objectives(client):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    fit = EventPage.objects.get(slug__startswith="fit-supervision-training")
    # A demo loaded before events had learning objectives gets them on the next run.
    EventPage.objects.filter(pk=fit.pk).update(learning_objectives="")
    courses_demo.load_demo_content(out)
    ce_demo.load_demo_content(out)  # a second run changes nothing
    fit.refresh_from_db()
    assert sorted(fit.ce_offerings.values_list("body__short_name", "hours")) == [
        ("APA", Decimal("18.00")),
        ("NBCC", Decimal("18.00")),
    ]
    text = _text(client.get(fit.url))
    assert "18 hours (60-minute hours)" in text
    assert "CE fee: $75.00" in text
    assert "Course number APA-FITS" in text
    assert "Use clients' feedback to choose what to work on in supervision" in text
    # Every live demo event that sells or promises CE has an offering.
    assert [m.event.title for m in queries.events_missing_offerings()] == []
