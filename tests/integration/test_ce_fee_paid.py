"""CE credit requires the CE fee paid: an add-on ticked on an unpaid invoice grants nothing.

Certification reads `Booking.paid_at` (set by payments when the order is paid, by courses
when a free booking is confirmed); it never imports payments. This test drives the real
invoice flow through payments' services.
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from certification import services
from certification.factories import make_body, make_event, make_offering, make_sponsor
from certification.models import EvaluationResponse
from courses import attendance
from courses import services as courses
from courses.factories import UserFactory
from courses.models import AddOn, BookingStatus
from payments import services as payments
from payments.models import EventPaymentSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    make_sponsor()
    event = make_event("Paid CE Workshop")
    make_offering(event, make_body("APA", minutes_per_credit=60))
    EventPaymentSettings.objects.create(
        event=event, invoice_payment_enabled=True, invoice_due_days=30
    )
    return event


def attended_with_evaluation(registration):
    for session in registration.event.sessions.order_by("start"):
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=registration.event)


def before_the_event():
    """The CE workshop ended two days ago; people booked it a week ago."""
    return time_machine.travel(timezone.now() - timedelta(days=7), tick=True)


def hold(event, buyer, *add_ons):
    ticket = event.ticket_types.order_by("pk").first()
    with before_the_event():
        return courses.place_hold(
            event=event,
            purchaser=buyer,
            tickets={ticket.pk: 1},
            attendees=[
                {
                    "attendee_name": buyer.legal_name,
                    "attendee_email": buyer.email,
                    "add_on_ids": [a.pk for a in add_ons],
                }
            ],
        )


def test_ce_on_an_unpaid_invoice_is_not_eligible_until_the_invoice_is_paid(
    event, django_capture_on_commit_callbacks
):
    ce = AddOn.objects.create(event=event, name="CE credits", price=2500, grants_ce=True)
    buyer = UserFactory()
    booking = hold(event, buyer, ce)
    with before_the_event(), django_capture_on_commit_callbacks(execute=True):
        order = payments.order_for_booking(booking, actor=buyer)
        payments.choose_invoice_payment(
            order,
            po_number="PO-1",
            billing_name="Riverside Agency",
            billing_address="1 River Road",
            actor=buyer,
        )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and booking.paid_at is None
    registration = booking.registrations.get()
    attended_with_evaluation(registration)

    state = services.eligibility(registration)
    assert state.status == services.CE_FEE_UNPAID
    assert "not paid yet" in state.reason
    with pytest.raises(services.NotEligible, match="ce fee unpaid"):
        services.issue_certificate(registration, notify=False)

    with django_capture_on_commit_callbacks(execute=True):
        payments.mark_invoice_paid(order, actor=None, reference="BACS 42")
    registration.refresh_from_db()

    assert services.eligibility(registration).status == services.ELIGIBLE
    assert services.issue_certificate(registration, notify=False).status == "issued"


def test_a_free_ce_add_on_counts_without_a_payment(event):
    ce = AddOn.objects.create(event=event, name="CE credits", price=0, grants_ce=True)
    booking = hold(event, UserFactory(), ce)
    registration = booking.registrations.get()
    registration.status = "confirmed"  # confirmed by staff; the booking records no payment
    registration.save(update_fields=["status"])
    attended_with_evaluation(registration)

    assert registration.booking.paid_at is None
    assert services.eligibility(registration).status == services.ELIGIBLE


def test_where_ce_is_free_the_wants_ce_box_is_enough(event):
    booking = hold(event, UserFactory())
    registration = booking.registrations.get()
    registration.wants_ce = True
    registration.status = "confirmed"
    registration.save(update_fields=["wants_ce", "status"])
    attended_with_evaluation(registration)

    assert services.eligibility(registration).status == services.ELIGIBLE
