"""Membership as a product: joining by card (Stripe Checkout, subscription mode, through the
fake Stripe and the real SDK), renewals by `invoice.paid`, a failed renewal's grace and lapse,
cancelling in the customer portal, a year by invoice marked paid by Finance, numbered receipts,
renewal reminders, and who may see what."""

import html as html_lib
import io
import re
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from cms import roles
from courses.models import Membership, MembershipPeriod, MembershipPlan
from courses.services import membership as periods
from payments.models import MembershipPayment, MemberSubscription
from payments.services import membership_documents as paperwork
from tests.accounts_support import log_in_with_second_factor, make_member, make_staff_in_role
from tests.fakestripe.helpers import deliver_sent_events, running_fake_stripe

pytestmark = pytest.mark.django_db


def _text(response):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


@pytest.fixture
def plan():
    group, _ = Group.objects.get_or_create(name="Members")
    return MembershipPlan.objects.create(
        name="Member site, 1 year", price=12000, currency="USD", months=12, group=group
    )


@pytest.fixture
def person(client):
    user = make_member("pat@example.org", "Pat Member")
    client.force_login(user)
    return user


def join_by_card(client, fake, plan):
    """Press "Join by card" and pay on the fake's Checkout page; returns the Stripe session."""
    response = client.post(reverse("payments:membership_join"), {"plan": plan.pk})
    assert response.status_code == 302
    session_id = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    assert response["Location"].startswith(fake.base_url)
    return fake.complete_session(session_id)


def _member(user):
    membership = Membership.objects.get(user=user)
    return periods.is_member(membership, timezone.now())


def test_the_membership_page_offers_the_plan_to_a_non_member(client, person, plan, fake_stripe):
    text = _text(client.get(reverse("payments:membership")))

    assert "You are not a member yet." in text
    assert "Member site, 1 year" in text
    assert "$120.00 per year" in text
    assert "Join by card" in text
    assert "Pay by invoice instead" in text


def test_joining_by_card_makes_a_member_with_a_numbered_receipt(client, person, plan, fake_stripe):
    session = join_by_card(client, fake_stripe, plan)
    assert session["mode"] == "subscription"
    created = fake_stripe.requests[0]["params"]
    assert created["line_items"][0]["price_data"]["recurring"]["interval"] == "year"
    assert created["line_items"][0]["price_data"]["unit_amount"] == "12000"

    deliver_sent_events(client, fake_stripe)

    assert _member(person)
    assert person.groups.filter(pk=plan.group_id).exists()
    payment = MembershipPayment.objects.get(user=person)
    assert payment.status == "paid"
    assert payment.amount == 12000
    assert re.fullmatch(r"R-\d{4}-\d{5}", payment.receipt_number)
    receipt = next(m for m in mail.outbox if payment.receipt_number in m.subject)
    assert "Thank you for your payment of $120.00 for Member site, 1 year." in receipt.body
    assert "Member site, 1 year" in pdf_text(receipt.attachments[0][1])
    page = _text(client.get(reverse("payments:membership")))
    until = Membership.objects.get(user=person).access_until
    assert f"Member · until {until:%-d %B %Y}" in page
    assert "renews automatically. Next charge: $120.00 on" in page
    assert f"Receipt {payment.receipt_number}" in page
    account = client.get(reverse("account_profile")).content.decode()
    assert f'href="{reverse("payments:membership")}">Membership</a>' in account
    assert "your membership page" in _text(client.get(reverse("courses:my_registrations")))
    download = client.get(
        reverse("payments:membership_document", args=[payment.public_id, "receipt"])
    )
    assert download.status_code == 200
    assert "Member site, 1 year" in pdf_text(b"".join(download.streaming_content))


def test_events_in_any_order_and_twice_leave_one_year(client, person, plan, fake_stripe):
    join_by_card(client, fake_stripe, plan)
    events = list(fake_stripe.sent_events)

    fake_stripe.sent_events[:] = list(reversed(events)) + events
    deliver_sent_events(client, fake_stripe)

    membership = Membership.objects.get(user=person)
    assert membership.current_periods().count() == 1
    assert MembershipPayment.objects.filter(user=person).count() == 1
    assert len([m for m in mail.outbox if "Receipt" in m.subject]) == 1
    assert MemberSubscription.objects.get(user=person).status == "active"


def test_the_return_page_settles_before_the_webhook(client, person, plan, fake_stripe):
    session = join_by_card(client, fake_stripe, plan)
    fake_stripe.sent_events.clear()  # the webhooks are late

    response = client.get(
        reverse("payments:membership_return") + f"?session_id={session['id']}", follow=True
    )

    assert "Welcome! Your membership is active." in _text(response)
    assert _member(person)


def test_a_second_subscription_is_refused_with_a_way_to_manage_the_first(
    client, person, plan, fake_stripe
):
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    sessions_before = len(fake_stripe.sessions)

    response = client.post(reverse("payments:membership_join"), {"plan": plan.pk}, follow=True)

    assert "You already have a membership subscription." in _text(response)
    assert "Manage membership" in _text(response)
    assert len(fake_stripe.sessions) == sessions_before


def test_a_renewal_paid_by_stripe_extends_the_year(client, person, plan, fake_stripe):
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    first_end = Membership.objects.get(user=person).access_until
    subscription = MemberSubscription.objects.get(user=person)

    fake_stripe.renew_subscription(subscription.stripe_subscription_id)
    deliver_sent_events(client, fake_stripe)

    membership = Membership.objects.get(user=person)
    assert membership.current_periods().count() == 2
    assert membership.access_until > first_end + timedelta(days=360)
    renewal = MembershipPayment.objects.get(user=person, reason="renewal")
    assert renewal.status == "paid"
    assert renewal.receipt_number
    assert "Renewal" in _text(client.get(reverse("payments:membership")))


def _year_has_passed(user):
    """Move the paid year into the past, as if its end had come."""
    past = timezone.now() - timedelta(days=366)
    MembershipPeriod.objects.filter(membership__user=user).update(
        granted_at=past, starts_at=past, ends_at=timezone.now() - timedelta(minutes=1)
    )


def test_a_failed_renewal_keeps_access_for_the_grace_period_then_lapses(
    client, person, plan, fake_stripe
):
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    subscription = MemberSubscription.objects.get(user=person)
    _year_has_passed(person)
    mail.outbox.clear()

    fake_stripe.renew_subscription(subscription.stripe_subscription_id, succeed=False)
    deliver_sent_events(client, fake_stripe)

    membership = Membership.objects.get(user=person)
    assert membership.grace_until > timezone.now() + timedelta(days=13)
    assert _member(person)
    assert periods.member_at(person)  # member prices too, while the card is retried
    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    failed = next(m for m in mail.outbox if "renewal payment failed" in m.subject)
    assert f"You keep access until {membership.grace_until:%-d %B %Y}" in failed.body
    page = _text(client.get(reverse("payments:membership")))
    assert "Your renewal payment failed." in page

    fake_stripe.end_unpaid_subscription(subscription.stripe_subscription_id)
    deliver_sent_events(client, fake_stripe)

    assert not _member(person)
    assert not periods.member_at(person)
    assert not person.groups.filter(pk=plan.group_id).exists()
    ended = next(m for m in mail.outbox if "membership has ended" in m.subject)
    assert "could not collect the renewal" in ended.body


def test_a_retried_renewal_that_succeeds_ends_the_grace(client, person, plan, fake_stripe):
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    subscription = MemberSubscription.objects.get(user=person)
    _year_has_passed(person)
    invoice, _ = fake_stripe.renew_subscription(subscription.stripe_subscription_id, succeed=False)
    deliver_sent_events(client, fake_stripe)

    fake_stripe.retry_invoice(invoice["id"])
    deliver_sent_events(client, fake_stripe)

    membership = Membership.objects.get(user=person)
    assert membership.grace_until is None
    assert membership.access_until > timezone.now() + timedelta(days=360)
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert MembershipPayment.objects.get(stripe_invoice_id=invoice["id"]).status == "paid"


def test_cancelling_in_the_portal_keeps_access_until_the_paid_year_ends(
    client, person, plan, fake_stripe
):
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    until = Membership.objects.get(user=person).access_until

    response = client.post(reverse("payments:membership_manage"))
    assert response.status_code == 302
    portal = response["Location"]
    assert portal.startswith(f"{fake_stripe.base_url}/billing/portal/")
    form = urllib.request.Request(portal, data=b"action=cancel", method="POST")
    with urllib.request.urlopen(form, timeout=10):  # noqa: S310 - the local fake
        pass
    deliver_sent_events(client, fake_stripe)

    subscription = MemberSubscription.objects.get(user=person)
    assert subscription.cancel_at_period_end
    assert _member(person)
    page = _text(client.get(reverse("payments:membership")))
    assert f"You cancelled the renewal. Your membership stays open until {until:%-d %B %Y}" in page
    told = next(m for m in mail.outbox if "will not renew" in m.subject)
    assert f"Your membership stays open until {until:%-d %B %Y}." in told.body


def test_a_year_by_invoice_starts_when_finance_marks_it_paid(
    client, person, plan, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = ""
    page = client.get(reverse("payments:membership")).content.decode()
    assert "Join by card" not in page
    assert "<details open>" in page  # the only way to pay: not folded away
    assert "Pay by invoice (agencies, purchase orders)" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("payments:membership_invoice"),
            {
                "plan": plan.pk,
                "billing_name": "Riverside Counseling Agency",
                "billing_address": "1 River Road\nSpringfield",
                "po_number": "PO-778",
            },
            follow=True,
        )

    payment = MembershipPayment.objects.get(user=person)
    assert f"Invoice {payment.invoice_number} for $120.00 is on its way" in _text(response)
    assert not Membership.objects.filter(user=person).exists()
    invoice = next(m for m in mail.outbox if payment.invoice_number in m.subject)
    text = pdf_text(invoice.attachments[0][1])
    assert "Riverside Counseling Agency" in text
    assert "PO-778" in text

    later = timezone.now() + timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        paperwork.mark_membership_invoice_paid(payment, actor=None, reference="BT-1", now=later)

    membership = Membership.objects.get(user=person)
    period = membership.current_periods().get()
    assert period.starts_at == later
    assert period.source == "invoice"
    payment.refresh_from_db()
    assert payment.status == "paid"
    receipt = next(m for m in mail.outbox if f"Receipt {payment.receipt_number}" in m.subject)
    assert "Reference: BT-1." in pdf_text(receipt.attachments[0][1])


def test_a_second_invoice_request_is_refused_while_one_waits(client, person, plan, settings):
    settings.STRIPE_SECRET_KEY = ""
    data = {"plan": plan.pk, "billing_address": "1 River Road"}
    client.post(reverse("payments:membership_invoice"), data)

    response = client.post(reverse("payments:membership_invoice"), data, follow=True)

    assert "is already waiting for payment" in _text(response)
    assert MembershipPayment.objects.filter(user=person).count() == 1


def test_an_invoice_request_without_an_address_says_what_is_missing(client, person, plan, settings):
    settings.STRIPE_SECRET_KEY = ""
    response = client.post(reverse("payments:membership_invoice"), {"plan": plan.pk})

    assert "Please correct the invoice details below." in _text(response)
    assert "This field is required." in _text(response)
    assert not MembershipPayment.objects.exists()


def test_reminders_go_out_30_and_7_days_ahead_once_each(
    person, plan, django_capture_on_commit_callbacks
):
    now = timezone.now()
    periods.add_period(
        person,
        group_id=plan.group_id,
        months=12,
        source="staff",
        reference="staff:reminder-test",
        now=now - timedelta(days=365) + timedelta(days=30),
        actor=None,
    )
    membership = Membership.objects.get(user=person)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        paperwork.send_renewal_reminders(now)
        paperwork.send_renewal_reminders(now)

    reminders = [m for m in mail.outbox if "Your membership ends on" in m.subject]
    assert len(reminders) == 1
    assert "Your membership ends in 30 days" in reminders[0].body
    later = membership.access_until - timedelta(days=7) + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        paperwork.send_renewal_reminders(later)
    assert any("ends in 7 days" in m.body for m in mail.outbox)


def test_receipts_are_for_their_owner_and_finance_only(client, person, plan, fake_stripe):
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    payment = MembershipPayment.objects.get(user=person)
    url = reverse("payments:membership_document", args=[payment.public_id, "receipt"])
    stranger = Client()
    stranger.force_login(make_member("other@example.org", "Olga Other"))

    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 302  # to the login page
    assert client.get(url).status_code == 200


def test_leaving_checkout_unpaid_lets_the_person_start_again(client, person, plan, fake_stripe):
    response = client.post(reverse("payments:membership_join"), {"plan": plan.pk})
    first_session = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    again = client.post(reverse("payments:membership_join"), {"plan": plan.pk})
    assert again["Location"] == response["Location"]  # the open Checkout page is reused

    fake_stripe.expire_session(first_session)
    deliver_sent_events(client, fake_stripe)

    assert MemberSubscription.objects.get(user=person).status == "abandoned"
    fresh = client.post(reverse("payments:membership_join"), {"plan": plan.pk})
    assert fresh.status_code == 302
    assert first_session not in fresh["Location"]
    assert MemberSubscription.objects.filter(user=person, status="checkout").count() == 1


def _staff(role, email):
    user = make_staff_in_role(role, email=email, legal_name="Sam Staff")
    staff_client = Client()
    log_in_with_second_factor(staff_client, user)
    return staff_client


def test_finance_lists_members_and_exports_them(client, person, plan, fake_stripe):
    join_by_card(client, fake_stripe, plan)
    deliver_sent_events(client, fake_stripe)
    lapsed = make_member("lee@example.org", "Lee Lapsed")
    periods.add_period(
        lapsed,
        group_id=plan.group_id,
        months=12,
        source="staff",
        reference="staff:lapsed",
        now=timezone.now() - timedelta(days=400),
        actor=None,
    )
    finance = _staff(roles.FINANCE, "finance@example.org")

    current = _text(finance.get(reverse("payments_admin:members")))
    assert "Pat Member" in current
    assert "Member, renews" in current
    assert "Lee Lapsed" not in current
    gone = _text(finance.get(reverse("payments_admin:members") + "?show=lapsed"))
    assert "Lee Lapsed" in gone
    assert "Pat Member" not in gone
    export = finance.get(reverse("payments_admin:members_csv") + "?show=all")
    rows = b"".join(export.streaming_content if export.streaming else [export.content])
    assert b"pat@example.org" in rows
    assert b"lee@example.org" in rows
    editor = _staff(roles.EDITOR, "editor@example.org")
    assert editor.get(reverse("payments_admin:members")).status_code in (302, 403)
