"""The demo events: the newsletter's three events, upcoming, and a past one with attendees."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from wagtail.models import PageViewRestriction

from cms.factories import home_page
from courses.demo import WEBINAR_TITLE, load_demo_content
from courses.models import (
    EventFormat,
    EventPage,
    MembershipPlan,
    Registration,
    RegistrationStatus,
)

pytestmark = pytest.mark.django_db


def test_demo_events_are_loaded_once_and_upcoming():
    home_page()
    load_demo_content(io.StringIO())
    load_demo_content(io.StringIO())

    now = timezone.now()
    events = {e.title: e for e in EventPage.objects.live()}
    # The newsletter's three, last February's conference, last December's webinar and the
    # on-demand course made from it.
    assert len(events) == 6
    assert EventPage.objects.first().get_parent().show_in_menus, "Events belongs in the main menu"

    tot = events["Training of Trainers Conference"]
    assert tot.starts_at > now and tot.venue_address == "Sarasota, Florida, USA"
    assert tot.sessions.count() == 5 and tot.total_ce_minutes == 27 * 60
    assert tot.local(tot.starts_at).weekday() == 0 and tot.local(tot.starts_at).month == 2
    assert "Subscription to Member Site (a $120 value)" in [b.text for b in tot.benefits.all()]
    plan = MembershipPlan.objects.get()  # loaded twice, one plan
    assert (plan.name, plan.price_text(), plan.months) == ("Member site, 1 year", "$120.00", 12)
    assert tot.included_membership == plan and plan.group.name == "Member site subscribers"
    assert PageViewRestriction.objects.filter(page__slug="member-site", groups=plan.group)

    fit = events["FIT Supervision Training"]
    assert fit.starts_at > now and fit.sessions.count() == 3 and fit.time_zone == "America/Chicago"
    assert fit.add_ons.get().grants_ce and fit.add_ons.get().price == 7500
    assert "Set of ICCE FIT manuals valued at $129 USD" in [b.text for b in fit.benefits.all()]

    webinar = events[WEBINAR_TITLE]
    assert webinar.is_online and webinar.ticket_types.get().is_free
    assert webinar.presenters.get().name == "David Prescott"
    local_start = webinar.local(webinar.starts_at)
    assert (local_start.month, local_start.day, local_start.hour) == (12, 9, 12)
    assert now < webinar.starts_at < now + timedelta(days=380)

    past = next(
        e for title, e in events.items() if title.startswith("Training of Trainers Conference ")
    )
    assert past.is_past
    confirmed = Registration.objects.filter(event=past, status=RegistrationStatus.CONFIRMED)
    names = set(confirmed.values_list("attendee_name", flat=True))
    assert len(names) == 8 and {"李明", "محمد الأحمد", "Мария Иванова"} <= names


def test_demo_presenters_have_bios_and_existing_demo_databases_get_them():
    from courses.models import Presenter

    load_demo_content(io.StringIO())
    prescott = Presenter.objects.get(name="David Prescott")
    duncan = Presenter.objects.get(name="Barry Duncan")
    assert "leading authority on feedback-informed treatment" in prescott.bio
    assert "Training of Trainers Conference" in duncan.bio and "PCOMS" in duncan.bio

    # A database loaded before the bios existed gets them; one staff have edited keeps theirs.
    Presenter.objects.filter(pk=prescott.pk).update(bio="")
    Presenter.objects.filter(pk=duncan.pk).update(bio="<p>Written by staff.</p>")
    load_demo_content(io.StringIO())

    assert "leading authority" in Presenter.objects.get(pk=prescott.pk).bio
    assert Presenter.objects.get(pk=duncan.pk).bio == "<p>Written by staff.</p>"
    assert Presenter.objects.filter(name="David Prescott").count() == 1


def test_demo_course_without_ffmpeg_is_published_without_a_recording(monkeypatch):
    home_page()
    monkeypatch.setattr("courses.demo_on_demand.shutil.which", lambda name: None)
    out = io.StringIO()
    load_demo_content(out)

    assert "skipped the course's recording: ffmpeg is not installed" in out.getvalue()
    course = EventPage.objects.get(format=EventFormat.ON_DEMAND)
    assert course.live and not course.recordings.exists()
    assert course.ticket_types.get().price == 3900
    past_webinar = EventPage.objects.get(slug=course.slug.removesuffix("-on-demand"))
    assert past_webinar.is_past and past_webinar.format == EventFormat.WEBINAR
