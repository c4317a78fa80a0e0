"""QA walkthrough fixes: times in the event's zone, CE wording, titles, labels."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from certification import demo as certification_demo
from certification.factories import make_body, make_registration
from certification.factories import make_event as make_ce_event
from certification.models import CEOffering
from cms.roles import CE_ADMINISTRATOR, EVENT_MANAGER, FINANCE
from courses import demo as courses_demo
from courses import services
from courses.factories import UserFactory, make_event
from courses.models import EventPage
from tests.accounts_support import log_in_with_second_factor, make_staff_with_totp

pytestmark = pytest.mark.django_db


def _staff(client, role, email):
    user, _secret = make_staff_with_totp(email=email)
    user.groups.add(Group.objects.get(name=role))
    log_in_with_second_factor(client, user)
    return user


def test_capacity_overview_shows_start_in_the_events_zone(client):
    # 9:00 local in New York is 14:00 (EST) or 13:00 (EDT) UTC: the page must show 09:00.
    event = make_event(title="Zone Webinar", time_zone="America/New_York")
    _staff(client, EVENT_MANAGER, "manager@example.org")

    overview = client.get("/admin/events-admin/").content.decode()

    local = timezone.localtime(event.sessions.get().start, event.zone)
    assert local.hour == 9
    assert f"{local:%-d %b %Y}, 09:00 America/New_York" in overview
    assert "14:00 America/New_York" not in overview
    assert "13:00 America/New_York" not in overview


def _register_for_ce(event, user):
    booking = services.place_hold(
        now=event.starts_at - timedelta(days=1),
        event=event,
        purchaser=user,
        tickets={event.ticket_types.get().pk: 1},
        attendees=[
            {"attendee_name": user.legal_name, "attendee_email": user.email, "wants_ce": True}
        ],
    )
    services.confirm_registrations(booking)


def test_my_ce_says_an_upcoming_webinar_is_assessed_after_the_event(client):
    out = io.StringIO()
    courses_demo.load_demo_content(out)
    certification_demo.load_demo_content(out)
    certification_demo.load_demo_content(out)  # a second run adds no second offering
    webinar = EventPage.objects.get(title=courses_demo.WEBINAR_TITLE)
    assert sorted(webinar.ce_offerings.values_list("hours", flat=True)) == [Decimal("1.5")] * 4
    user = UserFactory(email="clinician@example.org", legal_name="Casey Clinician")
    _register_for_ce(webinar, user)
    client.force_login(user)

    page = client.get("/ce/").content.decode()

    assert courses_demo.WEBINAR_TITLE in page
    assert "Upcoming" in page and "CE is assessed after the event." in page
    assert "Short attendance" not in page
    assert "offers no CE credit" not in page


def test_my_ce_in_progress_and_no_offering_are_not_short_attendance(client):
    now = timezone.now()
    running = make_ce_event("Running Workshop", starts=now - timedelta(minutes=30))
    CEOffering.objects.create(event=running, body=make_body("APA"), hours=Decimal("6"))
    no_ce = make_ce_event("Social Evening", starts=now - timedelta(days=3))
    assert running.starts_at <= now < running.ends_at
    user = UserFactory(email="clinician@example.org", legal_name="Casey Clinician")
    make_registration(running, user=user)
    make_registration(no_ce, user=user)
    client.force_login(user)

    page = client.get("/ce/").content.decode()

    assert "In progress" in page and "CE is assessed after the event." in page
    assert "No CE credit" in page and "This event offers no CE credit." in page
    assert "Short attendance" not in page


def test_registration_licenses_page_names_the_jurisdiction(client):
    event = make_ce_event("Measuring What Matters")
    user = UserFactory(email="clinician@example.org", legal_name="Casey Clinician")
    registration = make_registration(
        event,
        user=user,
        license_number="12345",
        license_jurisdiction="OTHER_US",
        profession="LCSW",
    )
    client.force_login(user)

    page = client.get(
        reverse("certification:registration_licenses", args=[registration.public_id])
    ).content.decode()

    assert "Another U.S. state #12345" in page
    assert "OTHER_US" not in page


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_checkout_shows_hold_in_event_zone_money_and_due_date_in_site_style(client, settings):
    from payments.models import EventPaymentSettings, Order
    from tests.fakestripe.helpers import hold_seats

    settings.STRIPE_SECRET_KEY = "sk_test_unused"
    booking = hold_seats(price=109500, seats=1, time_zone="America/New_York")
    EventPaymentSettings.objects.create(
        event=booking.event, invoice_payment_enabled=True, invoice_due_days=30
    )
    client.force_login(booking.purchaser)

    page = client.get(reverse("payments:checkout", args=[booking.public_id])).content.decode()

    held = timezone.localtime(booking.expires_at, booking.event.zone)
    assert "Your seats are held until" in page
    assert held.strftime("%-I:%M %p ") + held.tzname() in page  # e.g. "12:00 AM EST"
    assert " UTC" not in page
    assert "$1,095.00" in page and "1,095.00 USD" not in page

    response = client.post(
        reverse("payments:checkout", args=[booking.public_id]),
        {
            "action": "invoice",
            "billing_name": "Riverside Community Mental Health",
            "billing_address": "12 River Road\nSpringfield, IL 62701",
            "po_number": "PO-7731",
        },
        follow=True,
    )
    due = Order.objects.get(booking=booking).invoice_due_date
    assert f"Please pay $1,095.00 by {due.day} {due:%B %Y}" in response.content.decode()


def _title(page):
    return re.search(r"<title>\s*(.*?)\s*</title>", page, re.S).group(1)


def test_ce_and_finance_admin_screens_have_a_browser_tab_title(client):
    event = make_ce_event("Measuring What Matters")
    _staff(client, CE_ADMINISTRATOR, "ce@example.org")
    assert _title(client.get("/admin/ce/").content.decode()).startswith("Continuing education")
    assert _title(client.get(f"/admin/ce/events/{event.pk}/").content.decode()).startswith(
        "CE: Measuring What Matters"
    )
    assert _title(client.get("/admin/ce/transcripts/").content.decode()).startswith(
        "CE transcripts"
    )

    client.logout()
    _staff(client, FINANCE, "finance@example.org")
    assert _title(client.get("/admin/finance/orders/").content.decode()).startswith("Orders")
    assert _title(client.get("/admin/finance/orders/revenue/").content.decode()).startswith(
        "Revenue"
    )


def _confirmation_mail(event, email):
    user = UserFactory(email=email, legal_name="Casey Clinician")
    mail.outbox.clear()
    _register_for_ce(event, user)
    return next(m for m in mail.outbox if "When:" in m.body)


def test_confirmation_email_gives_one_date_with_times_for_a_one_day_event():
    event = make_event(title="One Day Workshop", time_zone="America/New_York", days=1)
    start = timezone.localtime(event.starts_at, event.zone)
    message = _confirmation_mail(event, "one@example.org")

    day = f"{start:%A} {start.day} {start:%B %Y}"
    assert f"When: {day}, 9:00 AM-3:00 PM {start:%Z} (America/New_York)" in message.body
    assert " to " not in message.body.split("When:")[1].splitlines()[0]
    html = message.alternatives[0][0]
    assert f"{day}, 9:00 AM–3:00 PM {start:%Z}" in html


def test_confirmation_email_gives_first_and_last_day_for_a_multi_day_event():
    event = make_event(title="Three Day Conference", time_zone="America/New_York", days=3)
    start = timezone.localtime(event.starts_at, event.zone)
    end = timezone.localtime(event.ends_at, event.zone)
    message = _confirmation_mail(event, "three@example.org")

    assert (
        f"When: {start.day} {start:%B %Y} to {end.day} {end:%B %Y} (America/New_York)"
        in message.body
    )


def test_registrations_listing_shows_ce_as_yes_or_no(client):
    event = make_event(title="FIT Supervision Training")
    _confirmation_mail(event, "wants@example.org")  # registered with CE requested
    _staff(client, EVENT_MANAGER, "manager@example.org")

    listing = client.get("/admin/course_registrations/", {"event": event.pk}).content.decode()

    header = re.search(r"<thead>(.*?)</thead>", listing, re.S).group(1)
    assert re.search(r">\s*CE\s*<", header)
    assert "Wants ce" not in listing
    body = re.search(r"<tbody>(.*?)</tbody>", listing, re.S).group(1)
    assert re.search(r">\s*Yes\s*<", body)
    assert "True" not in body


def test_demo_presenters_have_bios_and_existing_demo_databases_get_them():
    from courses.models import Presenter

    courses_demo.load_demo_content(io.StringIO())
    prescott = Presenter.objects.get(name="David Prescott")
    duncan = Presenter.objects.get(name="Barry Duncan")
    assert "leading authority on feedback-informed treatment" in prescott.bio
    assert "Training of Trainers Conference" in duncan.bio and "PCOMS" in duncan.bio

    # A database loaded before the bios existed gets them; one staff have edited keeps theirs.
    Presenter.objects.filter(pk=prescott.pk).update(bio="")
    Presenter.objects.filter(pk=duncan.pk).update(bio="<p>Written by staff.</p>")
    courses_demo.load_demo_content(io.StringIO())

    assert "leading authority" in Presenter.objects.get(pk=prescott.pk).bio
    assert Presenter.objects.get(pk=duncan.pk).bio == "<p>Written by staff.</p>"
    assert Presenter.objects.filter(name="David Prescott").count() == 1
