"""Stripe Billing for the fake: prices, customers, subscriptions, invoices, the customer portal.

Shapes follow API version 2026-10-28 ("basil" and later): a subscription's current period
lives on each subscription item, an invoice names its subscription under
`parent.subscription_details`, and each invoice line carries its `period`. What Stripe does on
its own clock (renewing, retrying a declined payment, giving up) a test does by calling
`renew_subscription`, `retry_invoice` and `end_unpaid_subscription`.

`StripeError` and `new_id` live here, not in server.py, so that server.py can import this
module without the two importing each other.
"""

import calendar
import html
import json
import re
import secrets
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

RETRY_DELAY = 3 * 24 * 3600
SECONDS = {"day": 24 * 3600, "week": 7 * 24 * 3600}
MONTHS = {"month": 1, "year": 12}
EXPANDABLE = {
    "cus": "customers",
    "sub": "subscriptions",
    "in": "invoices",
    "pi": "payment_intents",
    "ch": "charges",
    "price": "prices",
    "prod": "products",
}


def new_id(prefix):
    return f"{prefix}_test_{secrets.token_hex(12)}"


def blanks(null_names, **values):
    """Fields a fake object carries only so that it has Stripe's shape: nulls and constants."""
    return dict.fromkeys(null_names.split()) | values


class StripeError(Exception):
    def __init__(
        self, status, message, *, code=None, error_type="invalid_request_error", param=None
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": error_type, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def missing(kind, object_id, param="id"):
    message = f"No such {kind}: '{object_id}'"
    return StripeError(404, message, code="resource_missing", param=param)


def add_interval(timestamp, interval, count):
    """`timestamp` moved on by `count` intervals; months keep the day, clamped as Stripe does
    (an anchor on 31 January renews on 28 February, then on 31 March)."""
    if interval in SECONDS:
        return timestamp + count * SECONDS[interval]
    moment = datetime.fromtimestamp(timestamp, UTC)
    month_index = moment.month - 1 + count * MONTHS[interval]
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def money(amount, currency):
    return f"{amount / 100:.2f} {currency.upper()}"


def every(recurring):
    """How often a recurring price bills: "year", "month" or "3 months"."""
    count = recurring["interval_count"]
    return recurring["interval"] if count == 1 else f"{count} {recurring['interval']}s"


def day_text(timestamp):
    moment = datetime.fromtimestamp(timestamp, UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


def public(obj):
    """A copy for the wire, private `_` keys dropped."""
    return json.loads(json.dumps({k: v for k, v in obj.items() if not k.startswith("_")}))


def listing(objects, url, limit=10):
    return {"object": "list", "data": objects[:limit], "has_more": len(objects) > limit, "url": url}


def changed(before, after):
    """Stripe's `previous_attributes`: the old value of each top-level field that changed."""
    return {key: value for key, value in before.items() if after.get(key) != value}


def page(title, body, status=200):
    document = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"</head><body><main>{body}</main></body></html>"
    )
    return status, document, "text/html; charset=utf-8", {}


class BillingMixin:
    """The Billing half of FakeStripe; uses its `_lock`, `send_event`, `_create_charge`,
    `_session`, `get_session`, `payment_intents`, `charges` and `base_url`."""

    def _init_billing(self):
        self.customers = {}
        self.products = {}
        self.prices = {}
        self.subscriptions = {}
        self.invoices = {}
        self.portal_sessions = {}
        self.card_updated = {}
        self._invoice_count = 0

    def _now(self):
        return int(time.time())

    def _get(self, store, kind, object_id, expand=()):
        with self._lock:
            if object_id not in store:
                raise missing(kind, object_id)
            return self._expand(public(store[object_id]), expand)

    def _expand(self, shown, paths):
        """Replace the ids named by `expand` (dotted, e.g. "latest_invoice.payment_intent")
        with their objects."""
        for path in paths:
            node = shown
            for part in path.split("."):
                value = node.get(part) if isinstance(node, dict) else None
                if isinstance(value, str) and value.split("_")[0] in EXPANDABLE:
                    store = getattr(self, EXPANDABLE[value.split("_")[0]])
                    value = node[part] = public(store[value]) if value in store else value
                node = value
        return shown

    # -- customers, products, prices ---------------------------------------------------------

    def create_customer(self, params):
        customer = {
            "id": new_id("cus"),
            "object": "customer",
            "created": self._now(),
            "email": params.get("email"),
            "name": params.get("name"),
            "metadata": params.get("metadata") or {},
            **blanks(
                "address currency default_source description phone", balance=0, livemode=False
            ),
            "delinquent": False,
            "invoice_settings": {"default_payment_method": None},
        }
        with self._lock:
            self.customers[customer["id"]] = customer
        return public(customer)

    def email_of(self, session):
        """The address a Checkout Session bills: its own, or its customer's."""
        with self._lock:
            return (
                self.customers.get(session["customer"] or "", {}).get("email")
                or session["customer_email"]
            )

    def _customer(self, customer_id, param="id"):
        if customer_id not in self.customers:
            raise missing("customer", customer_id, param)
        return self.customers[customer_id]

    def create_price(self, params, *, inline=False):
        """A Price; `inline` for a Checkout line's `price_data`, which may omit the product
        (older tests of the project do)."""
        currency = (params.get("currency") or "").lower()
        if not currency and not inline:
            raise StripeError(400, "Missing required param: currency.", param="currency")
        unit_amount = int(params.get("unit_amount", "0"))
        if unit_amount < 0:
            raise StripeError(400, "Invalid non-negative integer: unit_amount.")
        product = params.get("product")
        if product is None and not params.get("product_data") and not inline:
            message = "You must specify either `product` or `product_data` when creating a price."
            raise StripeError(400, message)
        if product is None:
            product = self._create_product((params.get("product_data") or {}).get("name", ""))
        elif product not in self.products:
            raise missing("product", product, "product")
        recurring = params.get("recurring")
        if recurring:
            if recurring.get("interval") not in (*SECONDS, *MONTHS):
                message = "Invalid recurring[interval]: must be one of day, month, week, or year"
                raise StripeError(400, message, param="recurring[interval]")
            recurring = {
                "interval": recurring["interval"],
                "interval_count": int(recurring.get("interval_count", "1")),
                **blanks("meter trial_period_days", usage_type="licensed"),
            }
        price = {
            "id": new_id("price"),
            "object": "price",
            "active": not inline,
            "created": self._now(),
            "currency": currency,
            "metadata": params.get("metadata") or {},
            "product": product,
            "recurring": recurring or None,
            "type": "recurring" if recurring else "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
            **blanks("lookup_key nickname", billing_scheme="per_unit", livemode=False),
        }
        with self._lock:
            self.prices[price["id"]] = price
        return public(price)

    def _create_product(self, name):
        product_id = new_id("prod")
        product = {"id": product_id, "object": "product", "active": True, "name": name}
        product |= {"created": self._now(), "metadata": {}, **blanks("description", livemode=False)}
        with self._lock:
            self.products[product_id] = product
        return product_id

    # -- Checkout in subscription mode -------------------------------------------------------

    def _line_item_price(self, item, index):
        """The Price behind a Checkout line: `price` (an id) or `price_data` (a new Price)."""
        if item.get("price"):
            with self._lock:
                if item["price"] not in self.prices:
                    raise missing("price", item["price"], f"line_items[{index}][price]")
                return public(self.prices[item["price"]])
        return self.create_price(item.get("price_data") or {}, inline=True)

    def _check_checkout_billing(self, params, mode, prices):
        """Stripe's refusals for a session's mode, prices and customer."""
        if mode not in ("payment", "subscription"):
            raise StripeError(400, f"The fake Stripe does not support mode `{mode}`.")
        recurring = [price["recurring"] for price in prices if price["recurring"]]
        if mode == "subscription" and not recurring:
            raise StripeError(
                400,
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.",
            )
        if mode == "payment" and recurring:
            raise StripeError(
                400,
                "You specified `payment` mode but passed a recurring price. Either switch to "
                "`subscription` mode or use only one-time prices.",
            )
        if mode == "payment" and params.get("subscription_data"):
            raise StripeError(400, "You can not pass `subscription_data` in `payment` mode.")
        if len({(r["interval"], r["interval_count"]) for r in recurring}) > 1:
            message = "Checkout does not support multiple prices with different billing intervals."
            raise StripeError(400, message)
        if params.get("customer") and params.get("customer_email"):
            message = "You may only specify one of these parameters: customer, customer_email."
            raise StripeError(400, message)
        if params.get("customer"):
            with self._lock:
                self._customer(params["customer"], "customer")

    def _complete_subscription_session(self, session_id, *, send_webhook=True):
        """The Pay button in subscription mode: a customer (unless the session named one), an
        active subscription and its paid first invoice."""
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise StripeError(400, "This Checkout Session is no longer open.")
            if session["customer"] is None:
                email = session["customer_email"]
                session["customer"] = self.create_customer({"email": email})["id"]
            customer = self.customers[session["customer"]]
            subscription = self._new_subscription(session)
            one_time = [item for item in session["_line_items"] if not item["price"]["recurring"]]
            invoice = self._new_invoice(subscription, "subscription_create", one_time)
            self._pay_invoice(invoice, succeed=True)
            subscription["latest_invoice"] = invoice["id"]
            session.update(status="complete", payment_status="paid")
            session.update(subscription=subscription["id"], invoice=invoice["id"])
            session["customer_details"] = {"email": customer["email"], "name": customer["name"]}
        if send_webhook:
            shown = self.get_subscription(subscription["id"])
            self.send_event("customer.subscription.created", shown)
            self.send_event("invoice.paid", self.get_invoice(invoice["id"]))
            self.send_event("checkout.session.completed", self.get_session(session_id))
        return self.get_session(session_id)

    def _new_subscription(self, session):
        now = self._now()
        subscription_id = new_id("sub")
        items = [
            {
                "id": new_id("si"),
                "object": "subscription_item",
                "created": now,
                "current_period_start": now,
                "current_period_end": self._period_end(now, line["price"], 1),
                "discounts": [],
                "metadata": {},
                "price": line["price"],
                "quantity": line["quantity"],
                "subscription": subscription_id,
            }
            for line in session["_line_items"]
            if line["price"]["recurring"]
        ]
        self.subscriptions[subscription_id] = {
            "id": subscription_id,
            "object": "subscription",
            "status": "active",
            "customer": session["customer"],
            "currency": session["currency"],
            "metadata": dict((session["_subscription_data"] or {}).get("metadata") or {}),
            "items": listing(items, f"/v1/subscription_items?subscription={subscription_id}")
            | {"total_count": len(items)},
            "latest_invoice": None,
            "cancel_at_period_end": False,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            **blanks("cancel_at canceled_at ended_at application default_payment_method"),
            **blanks("description pending_update schedule trial_end trial_start", livemode=False),
            "billing_cycle_anchor": now,
            "collection_method": "charge_automatically",
            "created": now,
            "start_date": now,
            "discounts": [],
            "_cycle": 0,
        }
        return self.subscriptions[subscription_id]

    def _period_end(self, anchor, price, cycles):
        recurring = price["recurring"]
        return add_interval(anchor, recurring["interval"], recurring["interval_count"] * cycles)

    # -- invoices and their payment ----------------------------------------------------------

    def _new_invoice(self, subscription, billing_reason, one_time_lines=()):
        """An open invoice for the subscription's current period (plus, on the first one,
        the Checkout's one-time lines)."""
        now = self._now()
        invoice_id = new_id("in")
        customer = self.customers[subscription["customer"]]
        lines = [
            self._invoice_line(invoice_id, item, subscription)
            for item in subscription["items"]["data"]
        ] + [self._invoice_line(invoice_id, line, subscription) for line in one_time_lines]
        total = sum(line["amount"] for line in lines)
        self._invoice_count += 1
        first = subscription["items"]["data"][0]
        # Stripe's invoice period is the one *before* the period its lines bill for (on the
        # first invoice, an instant: the subscription's start).
        cycle = max(subscription["_cycle"] - 1, 0)
        previous = self._period_end(subscription["billing_cycle_anchor"], first["price"], cycle)
        self.invoices[invoice_id] = {
            "id": invoice_id,
            "object": "invoice",
            "status": "open",
            "billing_reason": billing_reason,
            "customer": customer["id"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "currency": subscription["currency"],
            "amount_due": total,
            "amount_paid": 0,
            "amount_remaining": total,
            "subtotal": total,
            "total": total,
            "attempt_count": 0,
            "attempted": False,
            "next_payment_attempt": None,
            "number": f"FAKE-{self._invoice_count:04d}",
            "created": now,
            "period_start": previous,
            "period_end": first["current_period_start"],
            "status_transitions": blanks("marked_uncollectible_at paid_at voided_at")
            | {"finalized_at": now},
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "metadata": dict(subscription["metadata"]),
                    "subscription": subscription["id"],
                },
            },
            "lines": listing(lines, f"/v1/invoices/{invoice_id}/lines", limit=len(lines)),
            "payment_intent": None,
            "payments": listing([], "/v1/invoice_payments"),
            "hosted_invoice_url": f"{self.base_url}/invoice/{invoice_id}",
            **blanks("description due_date invoice_pdf", metadata={}, account_country="US"),
            "livemode": False,
            "collection_method": "charge_automatically",
        }
        return self.invoices[invoice_id]

    def _invoice_line(self, invoice_id, item, subscription):
        """A line for a subscription item (billing its period) or a one-time Checkout line."""
        price, quantity, now = item["price"], item["quantity"], self._now()
        description = f"{quantity} × {self.products[price['product']]['name']}"
        if price["recurring"]:
            at = money(price["unit_amount"], price["currency"])
            description += f" (at {at} / {every(price['recurring'])})"
            period = {"start": item["current_period_start"], "end": item["current_period_end"]}
            parent = {
                "type": "subscription_item_details",
                "subscription_item_details": {"subscription_item": item["id"]},
            }
        else:
            period = {"start": now, "end": now}
            parent = {
                "type": "invoice_item_details",
                "invoice_item_details": {"invoice_item": new_id("ii")},
            }
        details = parent[parent["type"]]
        details.update(proration=False, subscription=subscription["id"])
        return {
            "id": new_id("il"),
            "object": "line_item",
            "amount": price["unit_amount"] * quantity,
            "currency": price["currency"],
            "description": description,
            "invoice": invoice_id,
            "parent": parent,
            "period": period,
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": price["unit_amount_decimal"],
            },
            "quantity": quantity,
            "metadata": {},
            "discountable": True,
            "livemode": False,
        }

    def _pay_invoice(self, invoice, *, succeed):
        """One attempt to charge the invoice's PaymentIntent (Stripe keeps one per invoice)."""
        now = self._now()
        if invoice["payment_intent"] is None:
            intent_id = new_id("pi")
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": invoice["amount_due"],
                "amount_received": 0,
                "currency": invoice["currency"],
                "customer": invoice["customer"],
                "status": "requires_payment_method",
                "created": now,
                **blanks("last_payment_error latest_charge", metadata={}, livemode=False),
            }
            invoice["payment_intent"] = intent_id
            payment = {"type": "payment_intent", "payment_intent": intent_id}
            invoice["payments"]["data"].append(
                {
                    "id": new_id("inpay"),
                    "object": "invoice_payment",
                    "amount_requested": invoice["amount_due"],
                    "currency": invoice["currency"],
                    "invoice": invoice["id"],
                    "payment": payment,
                    "status": "open",
                    "status_transitions": blanks("canceled_at paid_at"),
                    **blanks("amount_paid", created=now, is_default=True, livemode=False),
                }
            )
        intent = self.payment_intents[invoice["payment_intent"]]
        invoice.update(attempt_count=invoice["attempt_count"] + 1, attempted=True)
        if not succeed:
            intent["last_payment_error"] = {
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": "Your card was declined.",
                "type": "card_error",
            }
            invoice["next_payment_attempt"] = now + RETRY_DELAY
            return
        charge_id = new_id("ch")
        self._create_charge(charge_id, intent["id"], intent["amount"], intent["currency"])
        intent.update(status="succeeded", amount_received=intent["amount"])
        intent.update(latest_charge=charge_id, last_payment_error=None)
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0)
        invoice["next_payment_attempt"] = None
        invoice["status_transitions"]["paid_at"] = now
        invoice["payments"]["data"][0].update(status="paid", amount_paid=invoice["amount_due"])
        invoice["payments"]["data"][0]["status_transitions"]["paid_at"] = now

    # -- subscriptions over time -------------------------------------------------------------

    def get_subscription(self, subscription_id, expand=()):
        return self._get(self.subscriptions, "subscription", subscription_id, expand)

    def get_invoice(self, invoice_id, expand=()):
        return self._get(self.invoices, "invoice", invoice_id, expand)

    def _subscription(self, subscription_id):
        if subscription_id not in self.subscriptions:
            raise missing("subscription", subscription_id)
        return self.subscriptions[subscription_id]

    def update_subscription(self, subscription_id, params, *, send_webhook=True):
        """POST /v1/subscriptions/<id>: `cancel_at_period_end` and `metadata`."""
        unknown = sorted(set(params) - {"cancel_at_period_end", "metadata", "expand"})
        if unknown:
            message = f"Received unknown parameter: {unknown[0]} (the fake updates only "
            raise StripeError(400, message + "cancel_at_period_end and metadata)")
        with self._lock:
            subscription = self._subscription(subscription_id)
            before = public(subscription)
            if "cancel_at_period_end" in params:
                if subscription["status"] == "canceled":
                    message = "A canceled subscription can only update its cancellation_details"
                    raise StripeError(400, message + " and metadata.")
                self._schedule_cancel(
                    subscription, str(params["cancel_at_period_end"]).lower() == "true"
                )
            subscription["metadata"].update(params.get("metadata") or {})
        after = self.get_subscription(subscription_id)
        if send_webhook and after != before:
            self.send_event("customer.subscription.updated", after, changed(before, after))
        return self.get_subscription(subscription_id, params.get("expand") or ())

    def _schedule_cancel(self, subscription, cancel):
        """As Stripe: `cancel_at` is the period end and `canceled_at` the time of the request
        (both back to null when the customer changes their mind)."""
        subscription["cancel_at_period_end"] = cancel
        period_end = subscription["items"]["data"][0]["current_period_end"]
        subscription["cancel_at"] = period_end if cancel else None
        subscription["canceled_at"] = self._now() if cancel else None
        reason = "cancellation_requested" if cancel else None
        subscription["cancellation_details"]["reason"] = reason

    def cancel_subscription(self, subscription_id, *, send_webhook=True):
        """DELETE /v1/subscriptions/<id>: it ends now. To this endpoint a canceled subscription
        is no longer there (Stripe answers 404 resource_missing)."""
        with self._lock:
            subscription = self._subscription(subscription_id)
            if subscription["status"] == "canceled":
                raise missing("subscription", subscription_id)
            before = public(subscription)
            self._end(subscription, ended_at=self._now(), reason="cancellation_requested")
        return self._announce("customer.subscription.deleted", before, send_webhook)

    def _end(self, subscription, *, ended_at, reason):
        subscription.update(status="canceled", ended_at=ended_at)
        subscription["canceled_at"] = subscription["canceled_at"] or self._now()
        subscription["cancellation_details"]["reason"] = reason

    def _announce(self, event_type, before, send_webhook=True):
        """Send a customer.subscription.* event with the subscription as it is now (and, for
        an update, `previous_attributes`)."""
        shown = self.get_subscription(before["id"])
        if send_webhook:
            previous = changed(before, shown) if event_type.endswith(".updated") else None
            self.send_event(event_type, shown, previous)
        return shown

    def list_subscriptions(self, params):
        """Stripe's default leaves canceled subscriptions out; `status=all` shows them."""
        status = params.get("status")
        with self._lock:
            found = [
                public(subscription)
                for subscription in reversed(self.subscriptions.values())
                if params.get("customer") in (None, subscription["customer"])
                and status in ("all", subscription["status"], None)
                and not (status is None and subscription["status"] == "canceled")
            ]
        return listing(found, "/v1/subscriptions", int(params.get("limit", "10")))

    def list_invoices(self, params):
        with self._lock:
            found = [
                public(invoice)
                for invoice in reversed(self.invoices.values())
                if params.get("customer") in (None, invoice["customer"])
                and params.get("status") in (None, invoice["status"])
                and params.get("subscription")
                in (None, invoice["parent"]["subscription_details"]["subscription"])
            ]
        return listing(found, "/v1/invoices", int(params.get("limit", "10")))

    def renew_subscription(self, subscription_id, *, succeed=True, send_webhook=True):
        """What Stripe does at the period's end. Returns (invoice or None, subscription).

        Set to cancel at the period end: it ends instead (customer.subscription.deleted, no
        invoice). Otherwise a `subscription_cycle` invoice bills the next period, which begins
        either way: paid -> invoice.paid; declined -> the invoice stays open with a retry in
        3 days, the subscription is past_due, invoice.payment_failed. Then
        customer.subscription.updated.
        """
        with self._lock:
            subscription = self._subscription(subscription_id)
            if subscription["status"] == "canceled":
                raise StripeError(400, "A canceled subscription does not renew.")
            before = public(subscription)
            if subscription["cancel_at_period_end"]:
                ended_at = subscription["cancel_at"]
                self._end(subscription, ended_at=ended_at, reason="cancellation_requested")
                invoice = None
            else:
                subscription["_cycle"] += 1
                anchor, cycle = subscription["billing_cycle_anchor"], subscription["_cycle"]
                for item in subscription["items"]["data"]:
                    item["current_period_start"] = item["current_period_end"]
                    item["current_period_end"] = self._period_end(anchor, item["price"], cycle + 1)
                invoice = self._new_invoice(subscription, "subscription_cycle")
                self._pay_invoice(invoice, succeed=succeed)
                subscription["latest_invoice"] = invoice["id"]
                subscription["status"] = "active" if succeed else "past_due"
        if invoice is None:
            return None, self._announce("customer.subscription.deleted", before, send_webhook)
        if send_webhook:
            event_type = "invoice.paid" if succeed else "invoice.payment_failed"
            self.send_event(event_type, self.get_invoice(invoice["id"]))
        shown = self._announce("customer.subscription.updated", before, send_webhook)
        return self.get_invoice(invoice["id"]), shown

    def retry_invoice(self, invoice_id, *, succeed=True, send_webhook=True):
        """Stripe's next attempt at an open invoice. Returns (invoice, subscription).

        Paid: invoice.paid, and a past_due subscription whose latest invoice this is becomes
        active (customer.subscription.updated). Declined: invoice.payment_failed, with
        attempt_count one higher and the next attempt in 3 days.
        """
        with self._lock:
            if invoice_id not in self.invoices:
                raise missing("invoice", invoice_id)
            invoice = self.invoices[invoice_id]
            if invoice["status"] != "open":
                raise StripeError(400, f"Invoice is already {invoice['status']}.")
            subscription_id = invoice["parent"]["subscription_details"]["subscription"]
            subscription = self._subscription(subscription_id)
            before = public(subscription)
            self._pay_invoice(invoice, succeed=succeed)
            latest = subscription["latest_invoice"] == invoice_id
            if succeed and latest and subscription["status"] == "past_due":
                subscription["status"] = "active"
        if send_webhook:
            event_type = "invoice.paid" if succeed else "invoice.payment_failed"
            self.send_event(event_type, self.get_invoice(invoice_id))
        reactivated = before["status"] != subscription["status"]
        shown = self._announce(
            "customer.subscription.updated", before, send_webhook and reactivated
        )
        return self.get_invoice(invoice_id), shown

    def end_unpaid_subscription(self, subscription_id, *, send_webhook=True):
        """What Stripe does when its last retry fails: the subscription is canceled now
        (customer.subscription.deleted) and its open invoice no longer retried."""
        with self._lock:
            subscription = self._subscription(subscription_id)
            if subscription["status"] == "canceled":
                raise StripeError(400, "This subscription has already ended.")
            before = public(subscription)
            self._end(subscription, ended_at=self._now(), reason="payment_failed")
            latest = self.invoices.get(subscription["latest_invoice"])
            if latest and latest["status"] == "open":
                latest["next_payment_attempt"] = None
        return self._announce("customer.subscription.deleted", before, send_webhook)

    # -- customer portal ---------------------------------------------------------------------

    def create_portal_session(self, params):
        if not params.get("customer"):
            raise StripeError(400, "Missing required param: customer.", param="customer")
        with self._lock:
            self._customer(params["customer"], "customer")
            portal_id = new_id("bps")
            self.portal_sessions[portal_id] = {
                "id": portal_id,
                "object": "billing_portal.session",
                "customer": params["customer"],
                "return_url": params.get("return_url"),
                "url": f"{self.base_url}/billing/portal/{portal_id}",
                "created": self._now(),
                **blanks("flow locale on_behalf_of", configuration="bpc_test_fake", livemode=False),
            }
            return public(self.portal_sessions[portal_id])

    def billing_routes(self, params):
        """(method, path pattern, answer given the match) for the Billing API."""
        expand = params.get("expand") or []
        return [
            ("POST", r"/v1/customers", lambda m: self.create_customer(params)),
            ("GET", r"/v1/customers/(\w+)", lambda m: self._get(self.customers, "customer", m[1])),
            ("POST", r"/v1/prices", lambda m: self.create_price(params)),
            ("GET", r"/v1/prices/(\w+)", lambda m: self._get(self.prices, "price", m[1], expand)),
            ("GET", r"/v1/products/(\w+)", lambda m: self._get(self.products, "product", m[1])),
            ("GET", r"/v1/subscriptions", lambda m: self.list_subscriptions(params)),
            ("GET", r"/v1/subscriptions/(\w+)", lambda m: self.get_subscription(m[1], expand)),
            ("POST", r"/v1/subscriptions/(\w+)", lambda m: self.update_subscription(m[1], params)),
            ("DELETE", r"/v1/subscriptions/(\w+)", lambda m: self.cancel_subscription(m[1])),
            ("GET", r"/v1/invoices", lambda m: self.list_invoices(params)),
            ("GET", r"/v1/invoices/(\w+)", lambda m: self.get_invoice(m[1], expand)),
            ("POST", r"/v1/billing_portal/sessions", lambda m: self.create_portal_session(params)),
        ]

    def billing_page(self, method, path, form):
        """The hosted portal and invoice pages: (status, html, content type, headers), or None
        for a path that is not theirs. The portal's buttons post `action` (cancel, renew or
        card) and `subscription` (needed only when the customer has more than one)."""
        invoice = re.fullmatch(r"/invoice/(\w+)", path)
        if invoice and method == "GET":
            return self._invoice_page(invoice[1])
        portal = re.fullmatch(r"/billing/portal/(\w+)", path)
        if not portal:
            return None
        with self._lock:
            session = self.portal_sessions.get(portal[1])
        if session is None:
            return page("Not found", "<h1>This portal link is not valid.</h1>", 404)
        if method == "GET":
            return self._portal_page(session)
        current = [sub["id"] for sub in self._current_subscriptions(session["customer"])]
        chosen = form.get("subscription") or (current[0] if len(current) == 1 else None)
        if form.get("action") == "card":
            with self._lock:
                self.card_updated[session["customer"]] = True
        elif form.get("action") in ("cancel", "renew") and chosen in current:
            cancel = "true" if form["action"] == "cancel" else "false"
            self.update_subscription(chosen, {"cancel_at_period_end": cancel})
        else:
            return page("Not understood", "<h1>Use the buttons on the portal page.</h1>", 400)
        return 303, "", "text/html", {"Location": session["url"]}

    def _current_subscriptions(self, customer_id):
        with self._lock:
            return [
                public(subscription)
                for subscription in self.subscriptions.values()
                if subscription["customer"] == customer_id and subscription["status"] != "canceled"
            ]

    def _portal_page(self, session):
        with self._lock:
            customer = public(self.customers[session["customer"]])
        current = self._current_subscriptions(customer["id"])
        sections = "".join(self._portal_section(session["url"], sub) for sub in current)
        card = "Card updated" if self.card_updated.get(customer["id"]) else "Card ending 4242"
        back = ""
        if session["return_url"]:
            site = html.escape(urlsplit(session["return_url"]).netloc)
            back = f'<p><a href="{html.escape(session["return_url"])}">Return to {site}</a></p>'
        body = (
            f"<h1>Manage your subscription</h1><p>{html.escape(customer['email'] or '')}</p>"
            f"{sections or '<p>You have no current subscriptions.</p>'}"
            f"<h2>Payment method</h2><p>{card}</p>"
            f'<form method="post" action="{session["url"]}">'
            '<button type="submit" name="action" value="card">Update payment method</button>'
            f"</form>{back}"
        )
        return page("Manage your subscription", body)

    def _portal_section(self, url, subscription):
        item = subscription["items"]["data"][0]
        price = item["price"]
        with self._lock:
            name = html.escape(self.products[price["product"]]["name"])
        amount = money(price["unit_amount"] * item["quantity"], price["currency"])
        if subscription["cancel_at_period_end"]:
            when = f"Cancels on {day_text(subscription['cancel_at'])}"
            action, label = "renew", "Renew subscription"
        else:
            when = f"Renews on {day_text(item['current_period_end'])}"
            action, label = "cancel", "Cancel subscription"
        if subscription["status"] == "past_due":
            when += ". Your last payment failed; update your payment method."
        heading = f"plan-{subscription['id']}"
        return (
            f'<section aria-labelledby="{heading}"><h2 id="{heading}">{name}</h2>'
            f"<p>{amount} per {every(price['recurring'])}</p><p>{when}</p>"
            f'<form method="post" action="{url}">'
            f'<input type="hidden" name="subscription" value="{subscription["id"]}">'
            f'<button type="submit" name="action" value="{action}">{label}</button></form>'
            "</section>"
        )

    def _invoice_page(self, invoice_id):
        with self._lock:
            invoice = self.invoices.get(invoice_id)
        if invoice is None:
            return page("Not found", "<h1>This invoice link is not valid.</h1>", 404)
        lines = "".join(
            f"<li>{html.escape(line['description'])}: {money(line['amount'], line['currency'])}"
            f" ({day_text(line['period']['start'])} – {day_text(line['period']['end'])})</li>"
            for line in invoice["lines"]["data"]
        )
        body = (
            f"<h1>Invoice {invoice['number']}</h1><p>Status: {invoice['status']}</p>"
            f"<ul>{lines}</ul><p>Total: {money(invoice['total'], invoice['currency'])}</p>"
        )
        return page(f"Invoice {invoice['number']}", body)

    def recurring_summary(self, session):
        """The hosted checkout page's promise: "then 120.00 USD every year"."""
        recurring = [line for line in session["line_items"]["data"] if line["price"]["recurring"]]
        if not recurring:
            return ""
        per_cycle = sum(line["price"]["unit_amount"] * line["quantity"] for line in recurring)
        cycle = every(recurring[0]["price"]["recurring"])
        return f"<p>then {money(per_cycle, session['currency'])} every {cycle}</p>"
