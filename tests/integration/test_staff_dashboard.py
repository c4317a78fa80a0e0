"""The admin home opens with what needs each staff member's attention, by role: seats and
approvals for event staff, overdue invoices and flagged orders for Finance, certificates
still to issue for the CE administrator, overdue reviews for reviewers. Each item links to
the screen where it is dealt with, and nobody sees another role's items."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from certification.factories import make_body, make_offering, make_registration, make_sponsor
from certification.factories import make_event as make_ce_event
from certification.models import EvaluationResponse
from certification.trainers import services as trainers
from cms.roles import CE_ADMINISTRATOR, CERTIFICATION_REVIEWER, EDITOR, EVENT_MANAGER, FINANCE
from courses import attendance
from courses import services as courses
from courses.factories import UserFactory, make_event
from payments.models import Order
from tests.accounts_support import acting_with_second_factor
from tests.fakestripe.helpers import hold_seats
from tests.trainers_support.builders import build_track, lead, person, reviewer, start_submission

pytestmark = pytest.mark.django_db


def panel(client):
    html = client.get("/admin/").content.decode()
    match = re.search(r'id="needs-attention-section".*?</section>', html, flags=re.S)
    assert match, "the admin home has no 'Needs your attention' panel"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split()), match.group(0)


def test_event_staff_see_upcoming_seats_and_the_waitlist(client, staff_signed_in):
    event = make_event(title="FIT Supervision Training", capacity=1, starts_in=timedelta(days=20))
    booking = courses.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )
    courses.confirm_registrations(booking)
    courses.join_waitlist(event, user=UserFactory())
    staff_signed_in(EVENT_MANAGER)

    text, html = panel(client)

    assert "FIT Supervision Training" in text
    assert "0 of 1 seat left · 1 person on the waitlist" in text
    assert 'href="/admin/events-admin/"' in html
    assert "invoice" not in text.lower()


def test_finance_sees_overdue_invoices_and_flagged_orders(client, staff_signed_in):
    booking = hold_seats()
    Order.objects.create(
        booking=booking,
        event=booking.event,
        purchaser=booking.purchaser,
        email=booking.purchaser.email,
        status=Order.Status.PENDING,
        payment_method=Order.Method.INVOICE,
        invoice_due_date=timezone.localdate() - timedelta(days=3),
        subtotal=45000,
        total=45000,
        currency="USD",
        needs_attention=True,
    )
    staff_signed_in(FINANCE)

    text, html = panel(client)

    assert "1 invoice is overdue" in text
    assert "1 order needs a person to look at it" in text
    overdue = client.get("/admin/finance/orders/?overdue=1").content.decode()
    assert booking.event.title in overdue
    assert "seat" not in text


def test_the_ce_administrator_sees_certificates_still_to_issue(client, staff_signed_in):
    make_sponsor()
    event = make_ce_event("Outcome Measures Workshop")
    make_offering(event, make_body("APA", minutes_per_credit=60))
    registration = make_registration(event, name="Ana Souza")
    for session in event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    staff_signed_in(CE_ADMINISTRATOR)

    text, html = panel(client)

    assert (
        "1 attendee of Outcome Measures Workshop is eligible for a CE certificate "
        "not yet issued" in text
    )
    assert f'href="/admin/ce/events/{event.pk}/"' in html


def test_a_reviewer_sees_only_their_own_overdue_reviews(client, staff_signed_in):
    track = build_track()
    boss = acting_with_second_factor(lead())
    me = staff_signed_in(CERTIFICATION_REVIEWER, email="rev@example.org")
    other = reviewer("other.reviewer@example.org")
    late = timezone.now() - timedelta(days=1)
    for email, assignee in (("a@example.org", me), ("b@example.org", other)):
        submission = start_submission(track, person(email))
        submission.status = submission.Status.READY
        submission.save(update_fields=["status"])
        trainers.assign_reviewer(submission, assignee, actor=boss, due_at=late)
    mail.outbox.clear()

    text, _html = panel(client)

    assert "1 video review is overdue" in text


def test_a_role_with_nothing_to_do_is_told_so(client, staff_signed_in):
    make_event(title="FIT Supervision Training", starts_in=timedelta(days=20))
    staff_signed_in(EDITOR)

    text, _html = panel(client)

    assert "Nothing is waiting for you" in text
    assert "FIT Supervision Training" not in text


def test_the_ce_administrator_sees_ce_broker_rosters_not_yet_reported(client, staff_signed_in):
    from certification.models import CreditBasis
    from tests.integration.test_ce_broker_roster import certified, florida_body

    make_sponsor()
    event = make_ce_event("Measuring What Matters")
    make_offering(event, florida_body(credit_basis=CreditBasis.FULL_PROGRAM), course_number="20-1")
    certified(event, "Ann Adams", "SW11111")
    certified(event, "Bob Brown", "SW22222")
    staff_signed_in(CE_ADMINISTRATOR)

    text, html = panel(client)

    assert "CE Broker roster of Measuring What Matters: 2 licensees not yet reported" in text
    assert f'href="/admin/ce/events/{event.pk}/"' in html
