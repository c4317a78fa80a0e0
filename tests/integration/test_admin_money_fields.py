"""Staff type prices, fees and discounts in the currency's units ("450.00"), the way they
read everywhere else, never in cents; the database keeps minor units."""

import pytest
from django.contrib.auth import get_user_model

from cms.money import MoneyFormField
from cms.roles import FINANCE
from courses.factories import make_event
from courses.models import EventPage
from payments.models import DiscountCode, EventPaymentSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(client, staff_signed_in):
    staff_signed_in(FINANCE, email="finance@example.org")
    return client


def test_a_fixed_discount_is_typed_in_dollars_and_kept_in_cents(finance):
    response = finance.post(
        "/admin/payments_discount_codes/new/",
        {
            "code": "early",
            "kind": "fixed",
            "amount_off": "25.50",
            "currency": "USD",
            "active": "on",
        },
    )

    assert response.status_code == 302, response.content.decode()
    code = DiscountCode.objects.get()
    assert code.amount_off == 2550
    edit = finance.get(f"/admin/payments_discount_codes/edit/{code.pk}/").content.decode()
    assert 'value="25.50"' in edit
    assert "$25.50 off" in finance.get("/admin/payments_discount_codes/").content.decode()


def test_an_amount_with_too_many_decimals_or_below_zero_is_refused_with_the_reason(finance):
    for typed, message in (
        ("25.505", "Ensure that there are no more than 2 decimal places."),
        ("-5", "Ensure this value is greater than or equal to 0."),
        ("twenty", "Enter a number."),
    ):
        response = finance.post(
            "/admin/payments_discount_codes/new/",
            {"code": "x", "kind": "fixed", "amount_off": typed, "currency": "USD"},
        )
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not DiscountCode.objects.exists()


def test_a_yen_discount_takes_whole_yen(finance):
    refused = finance.post(
        "/admin/payments_discount_codes/new/",
        {"code": "yen", "kind": "fixed", "amount_off": "1500.5", "currency": "JPY"},
    )
    assert "Ensure that there are no more than 0 decimal places." in refused.content.decode()

    finance.post(
        "/admin/payments_discount_codes/new/",
        {"code": "yen", "kind": "fixed", "amount_off": "1500", "currency": "JPY", "active": "on"},
    )
    assert DiscountCode.objects.get().amount_off == 1500


def test_the_cancellation_fee_is_typed_and_listed_in_the_events_currency(finance):
    event = make_event(title="FIT Supervision Training")
    response = finance.post(
        "/admin/payments_event_settings/new/",
        {
            "event": event.pk,
            "invoice_due_days": "30",
            "invoice_reminder_days_before_due": "7",
            "invoice_release_grace_days": "7",
            "full_refund_days_before": "30",
            "no_refund_days_before": "7",
            "cancellation_fee": "50",
        },
    )

    assert response.status_code == 302, response.content.decode()
    assert EventPaymentSettings.objects.get().cancellation_fee == 5000
    assert "$50.00" in finance.get("/admin/payments_event_settings/").content.decode()


def test_the_event_editor_shows_ticket_and_add_on_prices_in_the_events_units():
    event = make_event(price=45000, add_ons=[("CE credits", 5000, True)])
    editor = get_user_model().objects.create_superuser("ed@example.org", "pw")
    form_class = EventPage.get_edit_handler().get_form_class()

    form = form_class(instance=event, for_user=editor)

    ticket_form = form.formsets["ticket_types"].forms[0]
    add_on_form = form.formsets["add_ons"].forms[0]
    assert isinstance(ticket_form.fields["price"], MoneyFormField)
    assert 'value="450.00"' in str(ticket_form["price"])
    assert 'value="50.00"' in str(add_on_form["price"])
    field = ticket_form.fields["price"]
    assert field.clean("395") == 39500
