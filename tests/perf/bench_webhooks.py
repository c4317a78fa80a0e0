"""The webhooks benchmark: signed `checkout.session.completed` events through the real view.

gunicorn serves the site (sync workers, DEBUG off) against the bench database; the fake
Stripe runs in this process and the site talks to it through the real SDK. Two runs:

- throughput: one completed checkout per order, each event delivered once, from 20 clients;
- storm: one event delivered 100 times from 20 concurrent clients; it must confirm once.

Prints one JSON line: {"bench": "webhooks", "events_per_s", "duplicates_sent", "confirmations"}.
"""

import http.client
import json
import os
import threading
import time
import uuid

from tests.fakestripe.helpers import SECRET_KEY
from tests.fakestripe.server import FakeStripe
from tests.perf.bench_pages import SETTINGS, prepare_database
from tests.perf.http_load import gunicorn_server

ORDERS = int(os.environ.get("BENCH_WEBHOOK_ORDERS", "60"))
STORM_DELIVERIES = 100
CLIENTS = 20
WEBHOOK_PATH = "/payments/stripe/webhook/"


def post(port, body, signature):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(
            "POST",
            WEBHOOK_PATH,
            body=body,
            headers={
                "Host": "127.0.0.1",
                "Content-Type": "application/json",
                "Stripe-Signature": signature,
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def send_all(port, fake, payloads):
    """Deliver every payload from CLIENTS threads; return the wall time and the statuses."""
    statuses = []
    lock = threading.Lock()
    remaining = iter(payloads)

    def worker():
        while True:
            with lock:
                payload = next(remaining, None)
            if payload is None:
                return
            status = post(port, payload, fake.sign(payload))
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def paid_checkouts(fake, count):
    """`count` orders with a Checkout Session that the fake has completed (webhooks held)."""
    from courses import services as courses_services
    from courses.factories import UserFactory, make_event
    from payments import services

    # A new event each run (the bench database is kept between runs).
    event = make_event(
        title=f"Webhook benchmark {uuid.uuid4().hex[:8]}", price=45000, capacity=count + 10
    )
    standard = event.ticket_types.get()
    orders, payloads = [], []
    for _ in range(count):
        buyer = UserFactory(email=f"buyer-{uuid.uuid4().hex}@example.org")
        booking = courses_services.place_hold(
            event=event, purchaser=buyer, tickets={standard.pk: 1}
        )
        order = services.order_for_booking(booking)
        services.start_card_checkout(
            order, success_url="http://127.0.0.1/ok", cancel_url="http://127.0.0.1/no"
        )
        order.refresh_from_db()
        session = fake.complete_session(order.stripe_checkout_session_id, send_webhook=False)
        orders.append(order)
        payloads.append(json.dumps(fake.build_event("checkout.session.completed", session)))
    return orders, payloads


def main():
    prepare_database()
    fake = FakeStripe().start()
    stripe_env = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_API_BASE": fake.base_url,
        "STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
    }
    os.environ.update(stripe_env)
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    import django

    django.setup()
    from payments.models import Order, Payment

    orders, payloads = paid_checkouts(fake, ORDERS)
    (storm_order,), (storm_payload,) = paid_checkouts(fake, 1)
    try:
        with gunicorn_server(SETTINGS, workers=4, ready_path="/healthz", env=stripe_env) as port:
            elapsed, statuses = send_all(port, fake, payloads)
            _, storm_statuses = send_all(port, fake, [storm_payload] * STORM_DELIVERIES)
    finally:
        fake.stop()
    if set(statuses) != {200} or set(storm_statuses) != {200}:
        raise RuntimeError(f"webhook answers: {sorted(set(statuses) | set(storm_statuses))}")
    settled = Order.objects.filter(pk__in=[o.pk for o in orders], status=Order.Status.PAID).count()
    if settled != len(orders):
        raise RuntimeError(f"only {settled} of {len(orders)} orders were confirmed")
    confirmations = Payment.objects.filter(order=storm_order).count()
    storm_order.booking.refresh_from_db()
    if storm_order.booking.status != "confirmed":
        confirmations = 0
    print(
        json.dumps(
            {
                "bench": "webhooks",
                "events_per_s": round(len(payloads) / elapsed, 1),
                "duplicates_sent": STORM_DELIVERIES,
                "confirmations": confirmations,
            }
        ),
        flush=True,
    )
    return 0 if confirmations == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
