"""Discount codes: computed on the server, limited by event, ticket, uses and dates."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from courses import services as courses_services
from courses.factories import UserFactory, make_event, ticket
from payments import services
from payments.models import DiscountCode, Order
from tests.fakestripe.helpers import hold_seats, running_fake_stripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


def apply(client, booking, code):
    client.force_login(booking.purchaser)
    return client.post(
        reverse("payments:checkout", args=[booking.public_id]),
        {"action": "discount", "code": code},
        follow=True,
    )


def test_percentage_code_lowers_the_amount_charged_at_stripe(client, fake_stripe):
    DiscountCode.objects.create(code="fit20", kind="percent", percent_off=20)
    booking = hold_seats(price=45000, seats=2)

    page = apply(client, booking, "FIT20")

    assert "The discount was applied" in page.text
    assert "Discount FIT20 (20% off)" in page.text
    assert "Pay $720.00 by card" in page.text
    client.post(reverse("payments:checkout", args=[booking.public_id]), {"action": "card"})
    create = next(r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions")
    assert create["params"]["line_items"][0]["price_data"]["unit_amount"] == "72000"
    order = Order.objects.get(booking=booking)
    assert (order.subtotal, order.discount_amount, order.total) == (90000, 18000, 72000)


def test_fixed_code_for_one_ticket_type_only(client, fake_stripe):
    event = make_event(price=45000)
    student = ticket(event, name="Student", price=20000)
    DiscountCode.objects.create(
        code="STUDENT50", kind="fixed", amount_off=5000, event=event, ticket_type=student
    )
    booking = hold_seats(event=event)  # a Standard ticket

    page = apply(client, booking, "student50")

    assert "applies only to Student tickets" in page.text
    assert Order.objects.get(booking=booking).total == 45000


def test_a_hundred_percent_code_makes_the_order_free(client, fake_stripe):
    DiscountCode.objects.create(code="SPEAKER", kind="percent", percent_off=100)
    booking = hold_seats(price=45000)

    page = apply(client, booking, "speaker")

    assert "Nothing to pay" in page.text
    response = client.post(
        reverse("payments:checkout", args=[booking.public_id]), {"action": "free"}, follow=True
    )
    assert "Registration confirmed" in response.text
    assert not [r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"active": False}, "is not a valid discount code"),
        ({"valid_until": timezone.now() - timedelta(days=1)}, "expired on"),
        ({"valid_from": timezone.now() + timedelta(days=3)}, "can be used from"),
        ({"max_uses": 0}, "has been used up"),
    ],
    ids=["inactive", "expired", "not yet", "used up"],
)
def test_codes_that_cannot_be_used_are_refused_with_the_reason(client, fields, message):
    DiscountCode.objects.create(code="SPRING", kind="percent", percent_off=10, **fields)
    booking = hold_seats()

    page = apply(client, booking, "spring")

    assert message in page.text
    assert Order.objects.get(booking=booking).total == 45000


def test_unknown_code_and_other_events_code_are_refused(client):
    other = make_event()
    DiscountCode.objects.create(code="OTHER", kind="percent", percent_off=10, event=other)
    booking = hold_seats()
    assert "not a valid discount code" in apply(client, booking, "NOPE").text
    assert "not valid for this event" in apply(client, booking, "other").text


def test_usage_limit_counts_other_orders(client):
    DiscountCode.objects.create(code="ONCE", kind="percent", percent_off=10, max_uses=1)
    first = hold_seats()
    second = hold_seats()
    assert "The discount was applied" in apply(client, first, "ONCE").text
    assert "has been used up" in apply(client, second, "ONCE").text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "percent", "percent_off": 101}, "percent_off"),
        ({"kind": "percent", "percent_off": 0}, "percent_off"),
        ({"kind": "fixed", "amount_off": 0}, "amount_off"),
        ({"kind": "fixed", "amount_off": -500}, "amount_off"),
        ({"kind": "fixed", "amount_off": None}, "amount_off"),
    ],
)
def test_negative_zero_or_over_100_percent_discounts_are_refused(fields, field):
    code = DiscountCode(code="BAD", **fields)
    with pytest.raises(ValidationError) as error:
        code.full_clean()
    assert field in error.value.message_dict


def test_database_refuses_an_over_100_percent_discount():
    with pytest.raises(IntegrityError):
        DiscountCode.objects.create(code="HUGE", kind="percent", percent_off=150)


def test_a_free_order_by_discount_records_the_booking_as_paid(client, fake_stripe):
    DiscountCode.objects.create(code="SPEAKER", kind="percent", percent_off=100)
    booking = hold_seats(price=45000)
    apply(client, booking, "speaker")

    client.post(reverse("payments:checkout", args=[booking.public_id]), {"action": "free"})

    booking.refresh_from_db()
    order = Order.objects.get(booking=booking)
    assert order.status == Order.Status.PAID
    assert booking.paid_at == order.paid_at


def test_a_code_applied_over_an_open_session_expires_it_after_the_commit(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    DiscountCode.objects.create(code="FIT20", kind="percent", percent_off=20)
    booking = hold_seats(price=45000)
    client.force_login(booking.purchaser)
    client.post(reverse("payments:checkout", args=[booking.public_id]), {"action": "card"})
    order = Order.objects.get(booking=booking)
    old_session = order.stripe_checkout_session_id

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.apply_discount_code(order, "fit20", actor=booking.purchaser)
    # Decided and written without calling Stripe; the old session is expired afterwards.
    assert not [r for r in fake_stripe.requests if r["path"].endswith("/expire")]
    order.refresh_from_db()
    assert (order.total, order.stripe_checkout_session_id) == (36000, "")
    for callback in callbacks:
        callback()
    assert fake_stripe.sessions[old_session]["status"] == "expired"

    client.post(reverse("payments:checkout", args=[booking.public_id]), {"action": "card"})
    order.refresh_from_db()
    assert fake_stripe.sessions[order.stripe_checkout_session_id]["amount_total"] == 36000


def test_a_discount_follows_add_ons_ticked_after_it(client, fake_stripe):
    DiscountCode.objects.create(code="FIT20", kind="percent", percent_off=20)
    event = make_event(price=45000, add_ons=[("CE credits", 5000, True)])
    booking = hold_seats(event=event)
    apply(client, booking, "FIT20")

    courses_services.update_attendee_details(
        booking.registrations.get(),
        {"add_on_ids": [event.add_ons.get().pk]},
        actor=booking.purchaser,
    )

    order = Order.objects.get(booking=booking)
    assert (order.subtotal, order.discount_amount, order.total) == (50000, 10000, 40000)
    page = client.get(reverse("payments:checkout", args=[booking.public_id]))
    assert "Discount FIT20 (20% off)" in page.text
    assert "Pay $400.00 by card" in page.text


def test_a_ticket_type_code_is_dropped_when_its_tickets_leave_the_order(client, fake_stripe):
    event = make_event(price=45000)
    student = ticket(event, name="Student", price=20000)
    DiscountCode.objects.create(
        code="STUDENT50", kind="fixed", amount_off=5000, event=event, ticket_type=student
    )
    buyer = UserFactory()
    booking = courses_services.place_hold(
        event=event,
        purchaser=buyer,
        tickets={event.ticket_types.get(name="Standard").pk: 1, student.pk: 1},
        attendees=[
            {"attendee_name": "A One", "attendee_email": buyer.email},
            {"attendee_name": "B Two", "attendee_email": "b@example.org"},
        ],
    )
    apply(client, booking, "student50")
    assert Order.objects.get(booking=booking).total == 60000

    student_seat = booking.registrations.get(ticket_type=student)
    courses_services.cancel_registration(student_seat, actor=booking.purchaser)

    order = Order.objects.get(booking=booking)
    assert (order.subtotal, order.discount_code, order.total) == (45000, None, 45000)
