"""Agency seats: an agency buys a plan with seats and gives each to a colleague by email; the
periods the purchase pays for go to the colleagues' own memberships, including colleagues who
create their account afterwards."""

import html as html_lib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from courses.models import Membership, MembershipPlan
from courses.services import membership as periods
from payments.models import MembershipPayment, MembershipSeat, MemberSubscription
from payments.services import membership_documents as paperwork
from tests.accounts_support import make_member
from tests.fakestripe.helpers import deliver_sent_events, running_fake_stripe

pytestmark = pytest.mark.django_db


def _text(response):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


@pytest.fixture
def agency_plan():
    group, _ = Group.objects.get_or_create(name="Members")
    return MembershipPlan.objects.create(
        name="Agency membership, 2 staff",
        price=20000,
        months=12,
        agency_seats=2,
        group=group,
    )


@pytest.fixture
def agency(client):
    user = make_member("director@agency.org", "Dana Director")
    client.force_login(user)
    return user


def _member(user):
    membership = Membership.objects.filter(user=user).first()
    return membership is not None and periods.is_member(membership, timezone.now())


def _join(client, fake, plan):
    response = client.post(reverse("payments:membership_join"), {"plan": plan.pk})
    fake.complete_session(urlsplit(response["Location"]).path.rsplit("/", 1)[-1])
    deliver_sent_events(client, fake)
    return MemberSubscription.objects.get(plan=plan)


def _give(client, purchase, email, kind="subscription"):
    return client.post(
        reverse("payments:membership_seat"),
        {"purchase": f"{kind}:{purchase.public_id}", "email": email},
        follow=True,
    )


def test_an_agency_gives_its_seats_and_each_colleague_is_a_member(
    client, agency, agency_plan, fake_stripe, django_capture_on_commit_callbacks
):
    colleague = make_member("casey@agency.org", "Casey Counselor")
    subscription = _join(client, fake_stripe, agency_plan)
    assert not _member(agency)  # the seats are for staff, not the buyer
    assert "0 of 2 seats given" in _text(client.get(reverse("payments:membership")))

    with django_capture_on_commit_callbacks(execute=True):
        response = _give(client, subscription, "Casey@Agency.org")

    assert "A seat is now Casey@Agency.org's" in _text(response)
    assert _member(colleague)
    told = next(m for m in mail.outbox if "gave you a seat" in m.subject)
    assert told.to == ["Casey@Agency.org"]
    assert "It is open to you now" in told.body
    page = _text(client.get(reverse("payments:membership")))
    assert "1 of 2 seats given" in page
    assert "Casey Counselor" in page

    again = _give(client, subscription, "casey@agency.org")
    assert "casey@agency.org already has a seat of this membership." in _text(again)


def test_a_seat_for_someone_without_an_account_waits_until_they_confirm_their_address(
    client, agency, agency_plan, fake_stripe, django_capture_on_commit_callbacks
):
    subscription = _join(client, fake_stripe, agency_plan)
    with django_capture_on_commit_callbacks(execute=True):
        _give(client, subscription, "newhire@agency.org")
    seat = MembershipSeat.objects.get()
    assert seat.user is None
    told = next(m for m in mail.outbox if "gave you a seat" in m.subject)
    assert "create an account with this address (newhire@agency.org)" in told.body
    assert "/accounts/signup/" in told.body
    page = _text(client.get(reverse("payments:membership")))
    assert "newhire@agency.org · waiting for them to create an account" in page

    newcomer = make_member("newhire@agency.org", "Nia Newhire")
    address = EmailAddress.objects.get_or_create(
        user=newcomer, email="newhire@agency.org", defaults={"verified": True, "primary": True}
    )[0]
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)

    seat.refresh_from_db()
    assert seat.user == newcomer
    assert _member(newcomer)


def test_all_seats_given_refuses_another(client, agency, agency_plan, fake_stripe):
    subscription = _join(client, fake_stripe, agency_plan)
    _give(client, subscription, "one@agency.org")
    _give(client, subscription, "two@agency.org")

    response = _give(client, subscription, "three@agency.org")

    assert "All 2 seats are given." in _text(response)
    assert MembershipSeat.objects.count() == 2
    assert "Give a seat" not in _text(client.get(reverse("payments:membership")))


def test_a_renewal_extends_every_seat_holder(client, agency, agency_plan, fake_stripe):
    colleagues = [make_member(f"staff{n}@agency.org", f"Staff Member {n}") for n in (1, 2)]
    subscription = _join(client, fake_stripe, agency_plan)
    for colleague in colleagues:
        _give(client, subscription, colleague.email)

    fake_stripe.renew_subscription(subscription.stripe_subscription_id)
    deliver_sent_events(client, fake_stripe)

    for colleague in colleagues:
        membership = Membership.objects.get(user=colleague)
        assert membership.current_periods().count() == 2
        assert membership.access_until > timezone.now() + timedelta(days=700)
    assert not Membership.objects.filter(user=agency).exists()


def test_seats_of_an_invoiced_year_open_when_finance_marks_it_paid(
    client, agency, agency_plan, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = ""
    colleague = make_member("casey@agency.org", "Casey Counselor")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("payments:membership_invoice"),
            {"plan": agency_plan.pk, "billing_address": "1 River Road"},
        )
    payment = MembershipPayment.objects.get()
    _give(client, payment, colleague.email, kind="payment")
    assert not _member(colleague)  # not paid yet

    paperwork.mark_membership_invoice_paid(payment, actor=None, reference="BT-9")

    assert _member(colleague)
    assert not _member(agency)


def test_only_the_buyer_gives_seats(client, agency, agency_plan, fake_stripe):
    subscription = _join(client, fake_stripe, agency_plan)
    client.force_login(make_member("intruder@example.org", "Ivy Intruder"))

    response = _give(client, subscription, "intruder@example.org")

    assert "Choose one of your memberships with agency seats." in _text(response)
    assert not MembershipSeat.objects.exists()
