"""A small Stripe look-alike bound to 127.0.0.1, spoken to by the real `stripe` SDK.

It answers the endpoints the project calls (Checkout Session create / retrieve / expire,
PaymentIntent retrieve, Charge retrieve, Refund create, and Stripe Billing: see billing.py)
with Stripe's JSON shapes, parses the SDK's form-encoded bracket notation, honours
`Idempotency-Key`, serves a minimal hosted checkout page whose "Pay" button completes the
session (and the customer portal), and sends webhooks signed with Stripe's scheme
(`t=...,v1=HMAC-SHA256(secret, "t.payload")`).

Webhooks go to `webhook_url` when one is set (browser tests, with a live server). Without one
they are kept in `sent_events` so a test can deliver them through Django's test client in its
own thread and database transaction.
"""

import html
import json
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import stripe

from tests.fakestripe.billing import BillingMixin, StripeError
from tests.fakestripe.billing import new_id as _new_id

API_VERSION = "2026-10-28.endive"


def parse_form(body):
    """Turn `a[b][0][c]=1` pairs (the SDK's encoding) back into nested dicts and lists."""
    root = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists_from_numeric_keys(root)


def _lists_from_numeric_keys(node):
    if not isinstance(node, dict):
        return node
    converted = {key: _lists_from_numeric_keys(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


class FakeStripe(BillingMixin):
    """The fake's state and behaviour; `start()` serves it over HTTP on a free port."""

    def __init__(self, *, webhook_secret="whsec_test_fake", webhook_url=None):  # noqa: S107
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.sessions = {}
        self.payment_intents = {}
        self.charges = {}
        self.refunds = {}
        self.sent_events = []
        self.requests = []
        # A slow Stripe: API paths ending with a key are answered after that many seconds,
        # or as soon as the test sets `slow_requests_released`.
        self.delays = {}
        self.slow_request_started = threading.Event()
        self.slow_requests_released = threading.Event()
        self._idempotent = {}
        self._key_locks = {}
        self._lock = threading.RLock()
        self._server = None
        self._thread = None
        self._init_billing()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        fake = self

        class Handler(_Handler):
            stripe_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def slow_down(self, path_suffix, seconds):
        """Answer API requests whose path ends with `path_suffix` (e.g. "/expire") only after
        `seconds`, or when `slow_requests_released` is set; `slow_request_started` is set
        when such a request arrives."""
        self.delays[path_suffix] = seconds

    def _delay(self, path):
        seconds = next((s for suffix, s in self.delays.items() if path.endswith(suffix)), 0)
        if seconds:
            self.slow_request_started.set()
            self.slow_requests_released.wait(seconds)

    # -- API operations ----------------------------------------------------------------------

    def create_checkout_session(self, params):
        """Payment mode, or subscription mode with recurring prices (see billing.py)."""
        mode = params.get("mode", "payment")
        line_items = params.get("line_items") or []
        if not line_items:
            raise StripeError(400, f"line_items is required in {mode} mode.")
        if not params.get("success_url"):
            raise StripeError(400, "success_url is required.")
        prices = [self._line_item_price(item, n) for n, item in enumerate(line_items)]
        self._check_checkout_billing(params, mode, prices)
        currencies = set()
        amount_total = 0
        stored_items = []
        for item, price in zip(line_items, prices, strict=True):
            quantity = int(item.get("quantity", "1"))
            currencies.add(price["currency"])
            amount_total += price["unit_amount"] * quantity
            stored_items.append(
                {
                    "id": _new_id("li"),
                    "object": "item",
                    "amount_total": price["unit_amount"] * quantity,
                    "currency": price["currency"],
                    "description": self.products[price["product"]]["name"],
                    "price": price,
                    "quantity": quantity,
                }
            )
        if len(currencies) != 1:
            raise StripeError(400, "All line items must use the same currency.")
        now = int(time.time())
        expires_at = int(params.get("expires_at") or now + 24 * 3600)
        if not now + 30 * 60 - 5 <= expires_at <= now + 24 * 3600 + 5:
            raise StripeError(
                400, "The `expires_at` timestamp must be between 30 minutes and 24 hours away."
            )
        session_id = _new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount_total,
            "amount_total": amount_total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currencies.pop(),
            "customer": params.get("customer"),
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "invoice": None,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": mode,
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "success_url": params["success_url"],
            "url": f"{self.base_url}/checkout/pay/{session_id}",
            "_line_items": stored_items,
            "_subscription_data": params.get("subscription_data"),
        }
        with self._lock:
            self.sessions[session_id] = session
        return session

    def get_session(self, session_id, expand=()):
        with self._lock:
            session = self.sessions.get(session_id)
            if session is None:
                raise StripeError(
                    404, f"No such checkout.session: '{session_id}'", code="resource_missing"
                )
            shown = {key: value for key, value in session.items() if not key.startswith("_")}
            if "payment_intent" in expand and session["payment_intent"]:
                shown["payment_intent"] = self.payment_intents[session["payment_intent"]]
            self._expand(shown, [path for path in expand if path != "line_items"])
            if "line_items" in expand:
                shown["line_items"] = {
                    "object": "list",
                    "data": session["_line_items"],
                    "has_more": False,
                    "url": f"/v1/checkout/sessions/{session_id}/line_items",
                }
            return json.loads(json.dumps(shown))

    def expire_session(self, session_id, *, send_webhook=True):
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise StripeError(
                    400,
                    f'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f'This Checkout Session has a status of "{session["status"]}".',
                )
            session["status"] = "expired"
        if send_webhook:
            self.send_event("checkout.session.expired", self.get_session(session_id))
        return self.get_session(session_id)

    def complete_session(
        self, session_id, *, amount=None, currency=None, async_payment=False, send_webhook=True
    ):
        """What the hosted page's Pay button does: charge the card and close the session.

        `amount` / `currency` let a test simulate a charge that differs from the session;
        `async_payment` leaves the payment processing (bank debits) until
        `settle_async_payment` is called. A subscription-mode session starts its
        subscription instead (billing.py).
        """
        with self._lock:
            mode = self._session(session_id)["mode"]
        if mode == "subscription":
            return self._complete_subscription_session(session_id, send_webhook=send_webhook)
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise StripeError(400, "This Checkout Session is no longer open.")
            paid_amount = session["amount_total"] if amount is None else amount
            paid_currency = session["currency"] if currency is None else currency
            intent_id = _new_id("pi")
            charge_id = _new_id("ch")
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": paid_amount,
                "amount_received": 0 if async_payment else paid_amount,
                "currency": paid_currency,
                "created": int(time.time()),
                "latest_charge": None if async_payment else charge_id,
                "livemode": False,
                "metadata": dict(session["metadata"]),
                "status": "processing" if async_payment else "succeeded",
            }
            if not async_payment:
                self._create_charge(charge_id, intent_id, paid_amount, paid_currency)
            session["payment_intent"] = intent_id
            session["status"] = "complete"
            session["payment_status"] = "unpaid" if async_payment else "paid"
            session["amount_total"] = paid_amount
            session["currency"] = paid_currency
            session["customer_details"] = {"email": session["customer_email"], "name": None}
        if send_webhook:
            self.send_event("checkout.session.completed", self.get_session(session_id))
        return self.get_session(session_id)

    def settle_async_payment(self, session_id, *, succeeded=True, send_webhook=True):
        with self._lock:
            session = self._session(session_id)
            intent = self.payment_intents[session["payment_intent"]]
            if succeeded:
                charge_id = _new_id("ch")
                self._create_charge(charge_id, intent["id"], intent["amount"], intent["currency"])
                intent.update(
                    status="succeeded", amount_received=intent["amount"], latest_charge=charge_id
                )
                session["payment_status"] = "paid"
            else:
                intent["status"] = "requires_payment_method"
        event_type = (
            "checkout.session.async_payment_succeeded"
            if succeeded
            else "checkout.session.async_payment_failed"
        )
        if send_webhook:
            self.send_event(event_type, self.get_session(session_id))

    def _create_charge(self, charge_id, intent_id, amount, currency):
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "currency": currency,
            "created": int(time.time()),
            "disputed": False,
            "livemode": False,
            "paid": True,
            "payment_intent": intent_id,
            "refunded": False,
            "status": "succeeded",
        }

    def _session(self, session_id):
        session = self.sessions.get(session_id)
        if session is None:
            raise StripeError(
                404, f"No such checkout.session: '{session_id}'", code="resource_missing"
            )
        return session

    def get_payment_intent(self, intent_id):
        with self._lock:
            intent = self.payment_intents.get(intent_id)
            if intent is None:
                raise StripeError(
                    404, f"No such payment_intent: '{intent_id}'", code="resource_missing"
                )
            return json.loads(json.dumps(intent))

    def get_charge(self, charge_id, expand=()):
        with self._lock:
            charge = self.charges.get(charge_id)
            if charge is None:
                raise StripeError(404, f"No such charge: '{charge_id}'", code="resource_missing")
            shown = dict(charge)
            if "refunds" in expand:
                shown["refunds"] = {
                    "object": "list",
                    "data": [r for r in self.refunds.values() if r["charge"] == charge_id],
                    "has_more": False,
                    "url": f"/v1/charges/{charge_id}/refunds",
                }
            return json.loads(json.dumps(shown))

    def create_refund(self, params, *, send_webhook=True):
        intent_id = params.get("payment_intent")
        with self._lock:
            intent = self.payment_intents.get(intent_id)
            if intent is None or not intent.get("latest_charge"):
                raise StripeError(
                    404, f"No such payment_intent: '{intent_id}'", code="resource_missing"
                )
            charge = self.charges[intent["latest_charge"]]
            remaining = charge["amount"] - charge["amount_refunded"]
            amount = int(params.get("amount") or remaining)
            if amount <= 0 or amount > remaining:
                raise StripeError(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({remaining})",
                    code="amount_too_large",
                )
            refund = {
                "id": _new_id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "created": int(time.time()),
                "currency": charge["currency"],
                "metadata": params.get("metadata") or {},
                "payment_intent": intent_id,
                "reason": params.get("reason"),
                "status": "succeeded",
            }
            self.refunds[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        if send_webhook:
            self.send_event("charge.refunded", self.get_charge(charge["id"], expand=("refunds",)))
        return json.loads(json.dumps(refund))

    def create_dispute(self, charge_id, *, send_webhook=True):
        with self._lock:
            charge = self.charges[charge_id]
            charge["disputed"] = True
            dispute = {
                "id": _new_id("dp"),
                "object": "dispute",
                "amount": charge["amount"],
                "charge": charge_id,
                "currency": charge["currency"],
                "created": int(time.time()),
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": "needs_response",
            }
        if send_webhook:
            self.send_event("charge.dispute.created", dispute)
        return dispute

    # -- webhooks ----------------------------------------------------------------------------

    def build_event(self, event_type, obj, previous_attributes=None):
        data = {"object": obj}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        return {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }

    def sign(self, payload, timestamp=None):
        return stripe.WebhookSignature.generate_signature_header(
            payload, self.webhook_secret, timestamp=timestamp
        )

    def send_event(self, event_type, obj, previous_attributes=None):
        """Record the event and, when a webhook URL is set, post it signed (as Stripe does)."""
        event = self.build_event(event_type, obj, previous_attributes)
        payload = json.dumps(event)
        with self._lock:
            self.sent_events.append(event)
        if self.webhook_url:
            self.deliver(payload)
        return event

    def deliver(self, payload):
        request = urllib.request.Request(  # noqa: S310 - the URL is the test's live server
            self.webhook_url,
            data=payload.encode("utf-8"),
            headers={"Content-Type": "application/json", "Stripe-Signature": self.sign(payload)},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    # -- HTTP dispatch -----------------------------------------------------------------------

    def handle_api(self, method, path, params, idempotency_key):
        """Replay the first answer for a repeated Idempotency-Key, as Stripe does for 24 h."""
        if method != "POST" or not idempotency_key:
            return self._route(method, path, params)
        cache_key = (path, idempotency_key)
        with self._lock:
            key_lock = self._key_locks.setdefault(cache_key, threading.Lock())
        # A per-key lock: two concurrent requests with one key get one object, while other
        # requests (and the webhook this one may trigger) are not blocked.
        with key_lock:
            if cache_key not in self._idempotent:
                self._idempotent[cache_key] = self._route(method, path, params)
            return self._idempotent[cache_key]

    def _route(self, method, path, params):
        expand = params.get("expand") or []
        for route_method, pattern, answer in self.billing_routes(params):
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                return answer(match)
        routes = [
            ("POST", r"/v1/checkout/sessions", lambda: self.create_checkout_session(params)),
            ("GET", r"/v1/checkout/sessions/(?P<id>[\w]+)", None),
            ("POST", r"/v1/checkout/sessions/(?P<id>[\w]+)/expire", None),
            ("GET", r"/v1/payment_intents/(?P<id>[\w]+)", None),
            ("GET", r"/v1/charges/(?P<id>[\w]+)", None),
            ("POST", r"/v1/refunds", lambda: self.create_refund(params)),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if not match or route_method != method:
                continue
            if action:
                return action()
            object_id = match.group("id")
            if path.startswith("/v1/checkout/sessions") and path.endswith("/expire"):
                return self.expire_session(object_id)
            if path.startswith("/v1/checkout/sessions"):
                return self.get_session(object_id, expand)
            if path.startswith("/v1/payment_intents"):
                return self.get_payment_intent(object_id)
            return self.get_charge(object_id, expand)
        raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")


class _Handler(BaseHTTPRequestHandler):
    stripe_fake = None
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        return

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def _send(self, status, body, content_type="application/json", headers=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", _new_id("req"))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _api(self, method):
        fake = self.stripe_fake
        url = urlsplit(self.path)
        params = parse_form(url.query) if method in ("GET", "DELETE") else parse_form(self._body())
        if not (self.headers.get("Authorization") or "").startswith("Bearer sk_"):
            self._send(401, json.dumps(StripeError(401, "Invalid API Key provided.").body))
            return
        fake.requests.append(
            {
                "method": method,
                "path": url.path,
                "params": params,
                "idempotency_key": self.headers.get("Idempotency-Key"),
            }
        )
        fake._delay(url.path)
        try:
            result = fake.handle_api(method, url.path, params, self.headers.get("Idempotency-Key"))
        except StripeError as error:
            self._send(error.status, json.dumps(error.body))
            return
        self._send(200, json.dumps(result))

    def _billing_page(self, method, path):
        """Serve the customer portal or a hosted invoice (billing.py); False if not theirs."""
        form = dict(parse_qsl(self._body())) if method == "POST" else {}
        try:
            answer = self.stripe_fake.billing_page(method, path, form)
        except StripeError as error:
            answer = (error.status, f"<h1>{html.escape(str(error))}</h1>", "text/html", {})
        if answer:
            self._send(*answer[:3], headers=answer[3])
        return bool(answer)

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path.startswith("/checkout/pay/"):
            self._hosted_page(path.rsplit("/", 1)[-1])
            return
        if not self._billing_page("GET", path):
            self._api("GET")

    def do_POST(self):  # noqa: N802
        path = urlsplit(self.path).path
        if path.startswith("/checkout/pay/"):
            self._body()
            self._pay(path.rsplit("/", 1)[-1])
            return
        if path.startswith(("/billing/", "/invoice/")):
            if not self._billing_page("POST", path):
                self._send(404, "<h1>Not found.</h1>", "text/html")
            return
        self._api("POST")

    def do_DELETE(self):  # noqa: N802
        self._api("DELETE")

    def _hosted_page(self, session_id):
        fake = self.stripe_fake
        try:
            session = fake.get_session(session_id, expand=("line_items",))
        except StripeError:
            self._send(404, "<h1>This checkout link is not valid.</h1>", "text/html")
            return
        rows = "".join(
            f"<li>{html.escape(item['description'])} × {item['quantity']}: "
            f"{item['amount_total'] / 100:.2f} {item['currency'].upper()}</li>"
            for item in session["line_items"]["data"]
        )
        if session["status"] != "open":
            body = f"<h1>This checkout session is {html.escape(session['status'])}.</h1>"
        else:
            body = (
                f"<h1>Fake Stripe Checkout</h1><ul>{rows}</ul>"
                f"<p>Total: {session['amount_total'] / 100:.2f} {session['currency'].upper()}</p>"
                f"{fake.recurring_summary(session)}"
                f"<p>Email: {html.escape(fake.email_of(session) or '')}</p>"
                f'<form method="post"><button type="submit">Pay</button></form>'
            )
        page = (
            "<!DOCTYPE html><html lang='en'><head><title>Checkout</title></head>"
            f"<body>{body}</body></html>"
        )
        self._send(200, page, "text/html; charset=utf-8")

    def _pay(self, session_id):
        fake = self.stripe_fake
        try:
            session = fake.complete_session(session_id)
        except StripeError as error:
            self._send(error.status, f"<h1>{html.escape(str(error))}</h1>", "text/html")
            return
        target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        self._send(303, "", "text/html", headers={"Location": target})
