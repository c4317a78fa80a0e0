"""The fake Stripe's Billing, spoken to through the real SDK as the project speaks to it:
subscription-mode Checkout, subscriptions, invoices, renewals and retries, the customer portal,
and the signed events each step sends, in Stripe's order."""

import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import stripe

from tests.fakestripe.billing import add_interval
from tests.fakestripe.server import FakeStripe

YEAR_PLAN = {
    "currency": "usd",
    "unit_amount": 12000,
    "product_data": {"name": "Member site, 1 year"},
    "recurring": {"interval": "year"},
}


@pytest.fixture
def fake():
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def client(fake):
    return stripe.StripeClient("sk_test_fake", base_addresses={"api": fake.base_url})


def open_session(client, *, price_data=YEAR_PLAN, **params):
    defaults = {
        "mode": "subscription",
        "line_items": [{"price_data": price_data, "quantity": 1}],
        "customer_email": "pat@example.org",
        "client_reference_id": "member-1",
        "metadata": {"membership_subscription": "m-1"},
        "subscription_data": {"metadata": {"membership_subscription": "m-1"}},
        "success_url": "http://site.test/joined?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://site.test/membership",
        "expires_at": int(time.time()) + 3600,
    }
    return client.v1.checkout.sessions.create(defaults | params)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def post_form(url, fields):
    """Press a form button on one of the fake's pages: (status, Location)."""
    opener = urllib.request.build_opener(NoRedirects)
    request = urllib.request.Request(url, data=urlencode(fields).encode(), method="POST")
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers.get("Location")
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers.get("Location")


def get_page(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.read().decode()


def subscribe(client, fake, **params):
    """A paid subscription, by the hosted page's Pay button; returns the expanded session."""
    session = open_session(client, **params)
    status, location = post_form(session.url, {})
    assert (status, location) == (303, f"http://site.test/joined?session_id={session.id}")
    return client.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription", "invoice"]})


def event_types(fake):
    return [event["type"] for event in fake.sent_events]


def day(timestamp):
    return datetime.fromtimestamp(timestamp, UTC)


# -- Checkout in subscription mode ------------------------------------------------------------


def test_an_open_subscription_session_has_no_subscription_invoice_or_payment_intent(client):
    session = open_session(client)

    assert session.mode == "subscription"
    assert session.status == "open"
    assert session.subscription is None
    assert session.invoice is None
    assert session.payment_intent is None
    assert session.customer is None
    assert session.amount_total == 12000


def test_the_hosted_checkout_page_says_what_the_subscription_will_cost(client):
    yearly = open_session(client)
    quarterly = open_session(
        client, price_data=YEAR_PLAN | {"recurring": {"interval": "month", "interval_count": 3}}
    )

    assert "then 120.00 USD every year" in get_page(yearly.url)[1]
    assert "then 120.00 USD every 3 months" in get_page(quarterly.url)[1]


def test_paying_starts_an_active_subscription_with_a_paid_first_invoice(client, fake):
    session = subscribe(client, fake)

    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.payment_intent is None
    assert session.customer.startswith("cus_")
    assert session.customer_details.email == "pat@example.org"
    subscription = client.v1.subscriptions.retrieve(session.subscription.id)
    assert subscription.status == "active"
    assert subscription.customer == session.customer
    assert subscription.metadata.to_dict() == {"membership_subscription": "m-1"}
    assert subscription.cancel_at_period_end is False
    assert subscription.cancel_at is None and subscription.canceled_at is None
    assert subscription.ended_at is None and subscription.livemode is False
    item = subscription["items"].data[0]
    assert item.id.startswith("si_") and item.quantity == 1
    start = day(item.current_period_start)
    assert day(item.current_period_end) == start.replace(year=start.year + 1)
    assert item.price.unit_amount == 12000 and item.price.currency == "usd"
    assert item.price.recurring.interval == "year" and item.price.recurring.interval_count == 1
    assert client.v1.products.retrieve(item.price.product).name == "Member site, 1 year"
    customer = client.v1.customers.retrieve(session.customer)
    assert customer.email == "pat@example.org"

    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.id == session.invoice.id
    assert (invoice.status, invoice.billing_reason) == ("paid", "subscription_create")
    assert (invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (12000, 12000, 0)
    assert invoice.number == "FAKE-0001"
    assert invoice.customer_email == "pat@example.org"
    assert invoice.status_transitions.paid_at is not None
    assert invoice.period_start == invoice.period_end == item.current_period_start
    assert invoice.parent.type == "subscription_details"
    assert invoice.parent.subscription_details.subscription == subscription.id
    assert invoice.parent.subscription_details.metadata.to_dict() == {
        "membership_subscription": "m-1"
    }
    line = invoice.lines.data[0]
    assert (line.period.start, line.period.end) == (
        item.current_period_start,
        item.current_period_end,
    )
    assert line.amount == 12000 and line.quantity == 1
    assert line.description == "1 × Member site, 1 year (at 120.00 USD / year)"
    assert (invoice.attempt_count, invoice.next_payment_attempt) == (1, None)
    paid_by = invoice.payments.data[0].payment.payment_intent
    assert invoice.payment_intent == paid_by
    assert client.v1.payment_intents.retrieve(paid_by).status == "succeeded"
    refund = client.v1.refunds.create({"payment_intent": paid_by})
    assert refund.amount == 12000
    assert "Invoice FAKE-0001" in get_page(invoice.hosted_invoice_url)[1]


def test_completing_sends_subscription_invoice_then_session_events_that_verify(client, fake):
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            return

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    fake.webhook_url = f"http://127.0.0.1:{receiver.server_address[1]}/"
    try:
        session = subscribe(client, fake)
    finally:
        receiver.shutdown()
        receiver.server_close()

    events = [
        stripe.Webhook.construct_event(body, signature, fake.webhook_secret)
        for body, signature in received
    ]
    assert [event.type for event in events] == [
        "customer.subscription.created",
        "invoice.paid",
        "checkout.session.completed",
    ]
    assert events[0].data.object.id == session.subscription.id
    assert events[0].data.object.status == "active"
    assert events[1].data.object.parent.subscription_details.subscription == session.subscription.id
    assert events[2].data.object.subscription == session.subscription.id
    assert events[2].data.object.invoice == session.invoice.id
    assert events[2].api_version == stripe.api_version
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(received[0][0], received[0][1], "whsec_someone_else")


def test_a_price_made_first_bills_by_calendar_months(client, fake):
    price = client.v1.prices.create(
        {
            "unit_amount": 3000,
            "currency": "usd",
            "recurring": {"interval": "month", "interval_count": 3},
            "product_data": {"name": "Quarterly membership"},
        }
    )
    assert client.v1.prices.retrieve(price.id).recurring.interval_count == 3

    session = open_session(client, line_items=[{"price": price.id, "quantity": 2}])
    assert "then 60.00 USD every 3 months" in get_page(session.url)[1]
    subscribe_session = fake.complete_session(session.id)

    item = client.v1.subscriptions.retrieve(subscribe_session["subscription"])["items"].data[0]
    assert item.quantity == 2
    assert item.current_period_end == add_interval(item.current_period_start, "month", 3)
    assert fake.get_invoice(subscribe_session["invoice"])["amount_paid"] == 6000


def test_months_keep_their_day_clamped_as_stripe_does():
    january_31 = int(datetime(2027, 1, 31, 9, 30, tzinfo=UTC).timestamp())

    assert day(add_interval(january_31, "month", 1)) == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    assert day(add_interval(january_31, "month", 2)) == datetime(2027, 3, 31, 9, 30, tzinfo=UTC)
    assert day(add_interval(january_31, "year", 1)) == datetime(2028, 1, 31, 9, 30, tzinfo=UTC)
    leap_day = int(datetime(2028, 2, 29, tzinfo=UTC).timestamp())
    assert day(add_interval(leap_day, "year", 1)) == datetime(2029, 2, 28, tzinfo=UTC)


def test_an_existing_customer_is_reused(client, fake):
    customer = client.v1.customers.create(
        {"email": "agency@example.org", "name": "Agency", "metadata": {"user": "7"}}
    )

    session = subscribe(client, fake, customer=customer.id, customer_email=None)

    assert session.customer == customer.id
    assert session.subscription.customer == customer.id
    assert list(fake.customers) == [customer.id]
    assert client.v1.invoices.retrieve(session.invoice.id).customer_email == "agency@example.org"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"price_data": YEAR_PLAN | {"recurring": None}},
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
        ),
        (
            {"mode": "payment", "subscription_data": None},
            "You specified `payment` mode but passed a recurring price.",
        ),
        (
            {"customer": "cus_test_someone"},
            "You may only specify one of these parameters: customer, customer_email.",
        ),
    ],
)
def test_stripe_refuses_sessions_it_would_refuse(client, params, message):
    with pytest.raises(stripe.InvalidRequestError) as refused:
        open_session(client, **params)

    assert refused.value.http_status == 400
    assert message in refused.value.user_message


def test_an_unknown_customer_or_price_is_resource_missing(client):
    with pytest.raises(stripe.InvalidRequestError) as unknown_customer:
        open_session(client, customer="cus_test_nobody", customer_email=None)
    with pytest.raises(stripe.InvalidRequestError) as unknown_price:
        open_session(client, line_items=[{"price": "price_test_nothing", "quantity": 1}])

    assert (unknown_customer.value.http_status, unknown_customer.value.code) == (
        404,
        "resource_missing",
    )
    assert unknown_customer.value.param == "customer"
    assert unknown_price.value.user_message == "No such price: 'price_test_nothing'"


# -- changing and ending a subscription ------------------------------------------------------


def test_cancel_at_period_end_is_set_and_undone_with_an_update_event(client, fake):
    subscription = subscribe(client, fake).subscription
    period_end = subscription["items"].data[0].current_period_end
    fake.sent_events.clear()

    cancelling = client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    kept = client.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": False})

    assert cancelling.cancel_at_period_end is True
    assert cancelling.cancel_at == period_end
    assert cancelling.status == "active"
    assert (kept.cancel_at_period_end, kept.cancel_at, kept.canceled_at) == (False, None, None)
    assert event_types(fake) == ["customer.subscription.updated"] * 2
    first = fake.sent_events[0]["data"]
    assert first["object"]["cancel_at_period_end"] is True
    assert first["previous_attributes"]["cancel_at_period_end"] is False


def test_cancelling_now_ends_it_once(client, fake):
    session = subscribe(client, fake)
    fake.sent_events.clear()

    ended = client.v1.subscriptions.cancel(session.subscription.id)

    assert ended.status == "canceled"
    assert ended.canceled_at is not None and ended.ended_at is not None
    assert event_types(fake) == ["customer.subscription.deleted"]
    assert fake.sent_events[0]["data"]["object"]["status"] == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.subscriptions.cancel(session.subscription.id)
    assert (again.value.http_status, again.value.code) == (404, "resource_missing")
    assert client.v1.subscriptions.retrieve(session.subscription.id).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError, match="A canceled subscription"):
        client.v1.subscriptions.update(session.subscription.id, {"cancel_at_period_end": True})


def test_listing_subscriptions_leaves_canceled_ones_out_unless_asked(client, fake):
    customer = client.v1.customers.create({"email": "pat@example.org"})
    first = subscribe(client, fake, customer=customer.id, customer_email=None)
    second = subscribe(client, fake, customer=customer.id, customer_email=None)
    subscribe(client, fake)  # someone else's
    client.v1.subscriptions.cancel(first.subscription.id)

    def listed(**params):
        found = client.v1.subscriptions.list({"customer": customer.id} | params)
        return [subscription.id for subscription in found.data]

    assert listed() == [second.subscription.id]
    assert listed(status="all") == [second.subscription.id, first.subscription.id]
    assert listed(status="canceled") == [first.subscription.id]
    assert listed(status="active") == [second.subscription.id]


# -- what Stripe does on its own clock -------------------------------------------------------


def test_a_paid_renewal_bills_the_next_period_and_moves_the_subscription_on(client, fake):
    session = subscribe(client, fake)
    first_item = session.subscription["items"].data[0]
    fake.sent_events.clear()

    invoice, subscription = fake.renew_subscription(session.subscription.id)

    assert event_types(fake) == ["invoice.paid", "customer.subscription.updated"]
    assert invoice["billing_reason"] == "subscription_cycle"
    assert invoice["status"] == "paid" and invoice["number"] == "FAKE-0002"
    assert invoice["payment_intent"] != session.invoice.payment_intent
    assert invoice["lines"]["data"][0]["period"]["start"] == first_item.current_period_end
    assert invoice["period_start"] == first_item.current_period_start  # the period before
    assert invoice["period_end"] == first_item.current_period_end
    item = client.v1.subscriptions.retrieve(subscription["id"])["items"].data[0]
    assert item.current_period_start == first_item.current_period_end
    assert item.current_period_end == add_interval(first_item.current_period_start, "year", 2)
    assert subscription["latest_invoice"] == invoice["id"]
    updated = fake.sent_events[1]["data"]
    assert updated["previous_attributes"]["latest_invoice"] == session.invoice.id


def test_a_declined_renewal_is_retried_then_paid(client, fake):
    session = subscribe(client, fake)
    fake.sent_events.clear()

    invoice, subscription = fake.renew_subscription(session.subscription.id, succeed=False)

    assert event_types(fake) == ["invoice.payment_failed", "customer.subscription.updated"]
    assert subscription["status"] == "past_due"
    assert (invoice["status"], invoice["attempt_count"], invoice["amount_paid"]) == ("open", 1, 0)
    assert invoice["next_payment_attempt"] == pytest.approx(time.time() + 3 * 24 * 3600, abs=5)
    assert client.v1.invoices.retrieve(invoice["id"]).status == "open"
    fake.sent_events.clear()

    declined, _ = fake.retry_invoice(invoice["id"], succeed=False)
    assert event_types(fake) == ["invoice.payment_failed"]
    assert declined["attempt_count"] == 2
    fake.sent_events.clear()

    paid, subscription = fake.retry_invoice(invoice["id"])

    assert event_types(fake) == ["invoice.paid", "customer.subscription.updated"]
    assert (paid["status"], paid["attempt_count"], paid["amount_remaining"]) == ("paid", 3, 0)
    assert subscription["status"] == "active"
    assert client.v1.payment_intents.retrieve(paid["payment_intent"]).status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError):  # a StripeError, as Stripe's own answer
        client.v1.invoices.retrieve("in_test_missing")
    with pytest.raises(Exception, match="Invoice is already paid"):
        fake.retry_invoice(invoice["id"])


def test_an_unpaid_subscription_ends_after_the_last_retry(client, fake):
    session = subscribe(client, fake)
    invoice, _ = fake.renew_subscription(session.subscription.id, succeed=False)
    fake.sent_events.clear()

    ended = fake.end_unpaid_subscription(session.subscription.id)

    assert event_types(fake) == ["customer.subscription.deleted"]
    assert ended["status"] == "canceled" and ended["ended_at"] is not None
    assert ended["cancellation_details"]["reason"] == "payment_failed"
    assert fake.get_invoice(invoice["id"])["next_payment_attempt"] is None


def test_a_subscription_set_to_cancel_ends_instead_of_renewing(client, fake):
    session = subscribe(client, fake)
    client.v1.subscriptions.update(session.subscription.id, {"cancel_at_period_end": True})
    fake.sent_events.clear()

    invoice, ended = fake.renew_subscription(session.subscription.id)

    assert invoice is None
    assert event_types(fake) == ["customer.subscription.deleted"]
    assert ended["status"] == "canceled"
    assert ended["ended_at"] == session.subscription["items"].data[0].current_period_end
    assert len(fake.invoices) == 1


# -- the customer portal ---------------------------------------------------------------------


def test_the_portal_session_needs_a_known_customer(client):
    with pytest.raises(stripe.InvalidRequestError, match="Missing required param: customer"):
        client.v1.billing_portal.sessions.create({"return_url": "http://site.test/"})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.billing_portal.sessions.create({"customer": "cus_test_nobody"})
    assert (unknown.value.http_status, unknown.value.code) == (404, "resource_missing")


def test_cancelling_and_renewing_in_the_portal(client, fake):
    session = subscribe(client, fake)
    portal = client.v1.billing_portal.sessions.create(
        {"customer": session.customer, "return_url": "http://site.test/membership"}
    )
    assert portal.object == "billing_portal.session"
    assert portal.url == f"{fake.base_url}/billing/portal/{portal.id}"
    renews_on = day(session.subscription["items"].data[0].current_period_end)
    when = f"{renews_on:%B} {renews_on.day}, {renews_on.year}"

    status, page = get_page(portal.url)

    assert status == 200
    assert "<html lang='en'>" in page and "<title>Manage your subscription</title>" in page
    assert "<h1>Manage your subscription</h1>" in page
    assert "Member site, 1 year" in page and "120.00 USD per year" in page
    assert f"Renews on {when}" in page
    assert ">Cancel subscription</button>" in page
    assert '<a href="http://site.test/membership">Return to site.test</a>' in page
    fake.sent_events.clear()

    pressed = post_form(portal.url, {"action": "cancel", "subscription": session.subscription.id})

    assert pressed == (303, portal.url)
    assert event_types(fake) == ["customer.subscription.updated"]
    assert fake.sent_events[0]["data"]["object"]["cancel_at_period_end"] is True
    page = get_page(portal.url)[1]
    assert f"Cancels on {when}" in page and ">Renew subscription</button>" in page

    assert post_form(portal.url, {"action": "renew"}) == (303, portal.url)
    assert client.v1.subscriptions.retrieve(session.subscription.id).cancel_at_period_end is False
    assert f"Renews on {when}" in get_page(portal.url)[1]


def test_updating_the_card_in_the_portal_is_recorded(client, fake):
    session = subscribe(client, fake)
    portal = client.v1.billing_portal.sessions.create({"customer": session.customer})

    assert post_form(portal.url, {"action": "card"}) == (303, portal.url)

    assert fake.card_updated == {session.customer: True}
    assert "Card updated" in get_page(portal.url)[1]


def test_an_unknown_portal_link_is_a_404_page(fake):
    status, page = get_page(f"{fake.base_url}/billing/portal/bps_test_nothing")

    assert status == 404
    assert "This portal link is not valid." in page
