"""QA walkthrough fixes: times in the event's zone, CE wording, titles, labels."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from certification.factories import make_event as make_ce_event
from cms.roles import CE_ADMINISTRATOR, FINANCE
from tests.accounts_support import log_in_with_second_factor, make_staff_with_totp

pytestmark = pytest.mark.django_db


def _staff(client, role, email):
    user, _secret = make_staff_with_totp(email=email)
    user.groups.add(Group.objects.get(name=role))
    log_in_with_second_factor(client, user)
    return user


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
