"""The webhooks benchmark: the Stripe endpoint against a bare POST view, and the worker behind it.

gunicorn serves the site (sync workers, DEBUG off) on the bench database with a real task
queue (Redis, `tests/perf/settings_worker.py`); the fake Stripe runs in this process and the
site talks to it through the real SDK. Each event is a signed `checkout.session.completed` for
an order of its own.

- `endpoint_vs_bare`: requests per second of the webhook endpoint (verify the signature,
  store the event in one INSERT, write its outbox promise, answer; the task is handed to
  Redis once the promise is committed) divided by those of the floor,
  `tests/perf/floors.bare_post`: a view that reads the POST body and answers, behind the
  same gunicorn and middleware, from the same clients. That is the least any endpoint
  receiving a webhook does, so the ratio is what verifying and storing costs. The two
  alternate in three rounds; the figure is the median of the rounds' ratios. No Celery
  worker runs meanwhile: processing cannot slow the endpoint, and
  `receipts_rendered_in_requests` (receipt PDFs that exist before the worker starts) shows
  that no request rendered one.
- `pipeline_events_per_s`: a real worker (`celery -A cms worker`, started and stopped here)
  then processes the stored events: settles each order (re-reading the session from Stripe),
  renders and e-mails its receipt. Events per second from the worker being ready to the last
  receipt stored.
- `confirmations`: one event delivered 100 times from 20 concurrent clients while the worker
  runs; the order is confirmed once (one payment). `orders_confirmed_once` checks the same
  for every order of the run.

`BENCH_SHORT=1`: 20 events per round instead of 60. Prints one JSON line.
"""

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

from tests.fakestripe.helpers import SECRET_KEY
from tests.fakestripe.server import FakeStripe
from tests.perf.database import prepare_database, setup_django
from tests.perf.http_load import PROJECT_ROOT, gunicorn_server

SETTINGS = "tests.perf.settings_worker"
SHORT = bool(os.environ.get("BENCH_SHORT"))
PER_ROUND = 20 if SHORT else 60
ROUNDS = 3
STORM_DELIVERIES = 100
CLIENTS = 20
WEBHOOK_PATH = "/payments/stripe/webhook/"
BARE_PATH = "/bench/bare-post"
WORKER_TIMEOUT = 600


def post(port, path, body, signature):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(
            "POST",
            path,
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


def send_all(port, path, fake, payloads):
    """Deliver every payload from CLIENTS threads; return requests per second."""
    statuses = []
    lock = threading.Lock()
    remaining = iter(payloads)

    def worker():
        while True:
            with lock:
                payload = next(remaining, None)
            if payload is None:
                return
            status = post(port, path, payload, fake.sign(payload))
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"{path} answered {sorted(set(statuses))}")
    return len(payloads) / elapsed


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


def receipts(orders):
    from payments.models import FinanceDocument

    return (
        FinanceDocument.objects.filter(order__in=orders, kind=FinanceDocument.Kind.RECEIPT)
        .exclude(file="")
        .count()
    )


def start_worker(env, log_path):
    """`celery -A cms worker` on the bench queue; returns once it says it is ready."""
    log = open(log_path, "w")  # noqa: SIM115 (closed by stop_worker)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cms",
            "worker",
            "--queues",
            "bench",
            "--concurrency",
            "2",
            "--loglevel",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited; see {log_path}")
        if "ready." in log_path.read_text(errors="replace"):
            return process, log
        time.sleep(0.2)
    stop_worker(process, log)
    raise RuntimeError(f"the Celery worker did not get ready; see {log_path}")


def stop_worker(process, log):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.close()


def wait_for(condition, what):
    deadline = time.monotonic() + WORKER_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def main():
    prepare_database()
    fake = FakeStripe().start()
    stripe_env = {
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_API_BASE": fake.base_url,
        "STRIPE_WEBHOOK_SECRET": fake.webhook_secret,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
    }
    os.environ.update(stripe_env)
    setup_django()
    from payments.models import Order, Payment

    started = time.perf_counter()
    rounds_orders = []
    rounds_payloads = []
    for _ in range(ROUNDS):
        orders, payloads = paid_checkouts(fake, PER_ROUND)
        rounds_orders.append(orders)
        rounds_payloads.append(payloads)
    (storm_order,), (storm_payload,) = paid_checkouts(fake, 1)
    all_orders = [order for orders in rounds_orders for order in orders]
    bench_dir = PROJECT_ROOT / ".bench"
    worker = None
    rounds = []
    try:
        with gunicorn_server(SETTINGS, workers=4, ready_path="/healthz", env=stripe_env) as port:
            # Warm both paths (imports, first query plans); not measured.
            warm_up = [
                json.dumps({"id": f"evt_warm_{uuid.uuid4().hex}", "type": "bench.warm_up"})
                for _ in range(CLIENTS)
            ]
            send_all(port, BARE_PATH, fake, warm_up)
            send_all(port, WEBHOOK_PATH, fake, warm_up)
            for payloads in rounds_payloads:
                bare_rps = send_all(port, BARE_PATH, fake, payloads)
                endpoint_rps = send_all(port, WEBHOOK_PATH, fake, payloads)
                rounds.append(
                    {
                        "bare_rps": round(bare_rps, 1),
                        "endpoint_rps": round(endpoint_rps, 1),
                        "ratio": round(endpoint_rps / bare_rps, 3),
                    }
                )
            rendered_in_requests = receipts(all_orders)
            stored_unprocessed = Order.objects.filter(
                pk__in=[o.pk for o in all_orders], status=Order.Status.PAID
            ).count()

            worker, worker_log = start_worker(
                {**os.environ, **stripe_env}, bench_dir / "webhooks-worker.log"
            )
            ready = time.perf_counter()
            wait_for(lambda: receipts(all_orders) == len(all_orders), "every receipt")
            pipeline_seconds = time.perf_counter() - ready

            send_all(port, WEBHOOK_PATH, fake, [storm_payload] * STORM_DELIVERIES)
            wait_for(
                lambda: (
                    Payment.objects.filter(order=storm_order).exists()
                    and receipts([storm_order]) == 1
                ),
                "the storm's order",
            )
            time.sleep(2)  # any late duplicate would have been processed by now
    finally:
        if worker is not None:
            stop_worker(worker, worker_log)
        fake.stop()
    confirmations = Payment.objects.filter(order=storm_order).count()
    storm_order.booking.refresh_from_db()
    if storm_order.booking.status != "confirmed":
        confirmations = 0
    paid_once = sum(1 for order in all_orders if Payment.objects.filter(order=order).count() == 1)
    ratio = statistics.median(r["ratio"] for r in rounds)
    result = {
        "bench": "webhooks",
        "endpoint_vs_bare": ratio,
        "endpoint_vs_bare_target": 0.3,
        "rounds": rounds,
        "pipeline_events_per_s": round(len(all_orders) / pipeline_seconds, 2),
        "events": len(all_orders),
        "orders_paid_before_worker": stored_unprocessed,
        "receipts_rendered_in_requests": rendered_in_requests,
        "duplicates_sent": STORM_DELIVERIES,
        "confirmations": confirmations,
        "orders_confirmed_once": f"{paid_once}/{len(all_orders)}",
        "within_targets": ratio >= 0.3 and confirmations == 1 and rendered_in_requests == 0,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0 if confirmations == 1 and paid_once == len(all_orders) else 1


if __name__ == "__main__":
    raise SystemExit(main())
