"""A local HTTP server that answers like Mollie's API v2 for the calls Postbode makes.

The JSON shapes follow Mollie's documentation (payments, customers, mandates, refunds, chargebacks, errors):
`resource`, `id`, `mode`, `amount` as {"currency", "value"} strings, HAL `_links`, `_embedded` lists with a
`count`, and errors as {"status", "title", "detail", "_links"}. Only what Postbode uses is served:

    POST /v2/customers                          GET /v2/customers/{id}
    POST /v2/payments                           GET /v2/payments/{id}
    GET  /v2/customers/{id}/mandates[/{mid}]
    POST /v2/payments/{id}/refunds              GET /v2/payments/{id}/refunds[/{rid}]
    GET  /v2/payments/{id}/chargebacks

Like Mollie's test mode it has a payment page (`_links.checkout`): GET /checkout/{id} shows the payment with
a choice of outcome (paid, failed, canceled, expired); posting it sets the status, calls the webhook with
`id=tr_...` (form-encoded, the only thing Mollie sends) and redirects to `redirectUrl`.

A first payment (sequenceType "first") that becomes paid creates a valid SEPA direct-debit mandate for its
customer. A recurring payment needs a valid mandate (else 422, as Mollie) and starts "pending", as a direct
debit does; the test settles it with `settle(id, status)`. `charge_back(id)` records a chargeback: the payment
stays "paid" with `amountChargedBack`, as at Mollie, and the webhook is called with the payment's id.
An `Idempotency-Key` sent again replays the first answer with `Idempotent-Replayed: true`.

Webhooks go to `webhook_sender(url, payment_id)`: by default a real HTTP POST; tests with Django's test client
set `deliver_webhooks_to(callable)` or collect them in `.webhooks` with `send_webhooks = False`.
"""

import itertools
import json
import re
import secrets
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOCS = "https://docs.mollie.com/reference/v2"
HAL = "application/hal+json"
OUTCOMES = ("paid", "failed", "canceled", "expired")
AMOUNT_VALUE = re.compile(r"^\d+\.\d{2}$")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _link(href: str, kind: str = HAL) -> dict:
    return {"href": href, "type": kind}


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")


class MollieApiError(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field

    def body(self) -> dict:
        body = {
            "status": self.status,
            "title": HTTPStatus(self.status).phrase,
            "detail": self.detail,
            "_links": {"documentation": _link(f"{DOCS}/errors", "text/html")},
        }
        if self.field:
            body["field"] = self.field
        return body


class FakeMollie:
    """The state of the fake Mollie account, and the HTTP server that serves it."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_key_prefix: str = "test_"):
        self.api_key_prefix = api_key_prefix
        self.customers: dict[str, dict] = {}
        self.payments: dict[str, dict] = {}
        self.mandates: dict[str, dict] = {}  # mandate id -> mandate (with "customerId")
        self.refunds: dict[str, dict] = {}
        self.chargebacks: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict | None]] = []  # (method, path, body) as received
        self.webhooks: list[tuple[str, str]] = []  # (url, payment id) sent
        self.send_webhooks = True
        self.webhook_sender = self._post_webhook
        self._idempotent: dict[str, tuple[int, dict]] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeMollie":
        # `shutdown` waits for the serving loop to look at its flag, every poll interval (half a second by
        # default, paid by each test that stops a server)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def deliver_webhooks_to(self, sender) -> None:
        """Send webhooks with `sender(url, payment_id)` (e.g. Django's test client) instead of HTTP."""
        self.webhook_sender = sender

    # --- what a test does as Mollie's side -------------------------------------------------------------

    def settle(self, payment_id: str, status: str, *, webhook: bool = True) -> dict:
        """Give the payment its final status (what the customer's bank or the payment page decides)."""
        if status not in OUTCOMES:
            raise ValueError(status)
        with self._lock:
            payment = self.payments[payment_id]
            if payment["status"] not in ("open", "pending"):
                raise ValueError(f"{payment_id} is already {payment['status']}")
            payment["status"] = status
            payment[f"{status}At"] = _now()
            payment["isCancelable"] = False
            if isinstance(payment["method"], list) or payment["method"] is None:
                # the method the customer chose on the payment page (Mollie then reports it as a string)
                payment["method"] = (payment["method"] or ["ideal"])[0]
            if status == "paid":
                payment["amountRemaining"] = dict(payment["amount"])
                payment["amountRefunded"] = {"currency": "EUR", "value": "0.00"}
                payment["details"] = {
                    "consumerName": "T. TEST",
                    "consumerAccount": "NL55INGB0000000000",
                    "consumerBic": "INGBNL2A",
                }
                if payment["sequenceType"] == "first":
                    self._create_mandate(payment)
        if webhook:
            self.call_webhook(payment_id)
        return payment

    def charge_back(self, payment_id: str, *, webhook: bool = True) -> dict:
        """The customer's bank reverses a paid direct debit. The payment stays "paid", as at Mollie."""
        with self._lock:
            payment = self.payments[payment_id]
            if payment["status"] != "paid":
                raise ValueError(f"{payment_id} is {payment['status']}, not paid")
            chargeback_id = _new_id("chb_")
            chargeback = {
                "resource": "chargeback",
                "id": chargeback_id,
                "amount": dict(payment["amount"]),
                "settlementAmount": {"currency": "EUR", "value": f"-{payment['amount']['value']}"},
                "reason": {"code": "MD06", "description": "Refund request by end customer"},
                "createdAt": _now(),
                "reversedAt": None,
                "paymentId": payment_id,
                "_links": {
                    "self": _link(f"{self.url}/v2/payments/{payment_id}/chargebacks/{chargeback_id}"),
                    "payment": _link(f"{self.url}/v2/payments/{payment_id}"),
                    "documentation": _link(f"{DOCS}/chargebacks-api/get-chargeback", "text/html"),
                },
            }
            self.chargebacks[chargeback_id] = chargeback
            payment["amountChargedBack"] = dict(payment["amount"])
            payment["_links"]["chargebacks"] = _link(f"{self.url}/v2/payments/{payment_id}/chargebacks")
        if webhook:
            self.call_webhook(payment_id)
        return chargeback

    def call_webhook(self, payment_id: str) -> None:
        url = self.payments[payment_id].get("webhookUrl")
        if not url:
            return
        self.webhooks.append((url, payment_id))
        if self.send_webhooks:
            self.webhook_sender(url, payment_id)

    def last_payment(self) -> dict:
        return list(self.payments.values())[-1]

    @staticmethod
    def _post_webhook(url: str, payment_id: str) -> None:
        data = urllib.parse.urlencode({"id": payment_id}).encode()
        request = urllib.request.Request(url, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback test server
            response.read()

    # --- the API ------------------------------------------------------------------------------------------

    def create_customer(self, body: dict) -> dict:
        customer_id = _new_id("cst_")
        customer = {
            "resource": "customer",
            "id": customer_id,
            "mode": "test",
            "name": body.get("name"),
            "email": body.get("email"),
            "locale": body.get("locale"),
            "metadata": body.get("metadata"),
            "createdAt": _now(),
            "_links": {
                "self": _link(f"{self.url}/v2/customers/{customer_id}"),
                "mandates": _link(f"{self.url}/v2/customers/{customer_id}/mandates"),
                "payments": _link(f"{self.url}/v2/customers/{customer_id}/payments"),
                "documentation": _link(f"{DOCS}/customers-api/create-customer", "text/html"),
            },
        }
        self.customers[customer_id] = customer
        return customer

    def create_payment(self, body: dict, customer_id: str | None = None) -> dict:
        amount = self._amount(body.get("amount"))
        if not body.get("description"):
            raise MollieApiError(422, "The description is required.", "description")
        sequence_type = body.get("sequenceType", "oneoff")
        if sequence_type not in ("oneoff", "first", "recurring"):
            raise MollieApiError(422, "The sequence type is invalid.", "sequenceType")
        customer_id = customer_id or body.get("customerId")
        if customer_id is not None and customer_id not in self.customers:
            raise MollieApiError(404, f"No customer exists with token {customer_id}.")
        if sequence_type != "oneoff" and customer_id is None:
            raise MollieApiError(422, "A customer is required for this sequence type.", "customerId")
        if sequence_type != "recurring" and not body.get("redirectUrl"):
            raise MollieApiError(422, "The redirect URL is required.", "redirectUrl")
        mandate = None
        if sequence_type == "recurring":
            mandate = self._valid_mandate(customer_id, body.get("mandateId"))
        payment_id = _new_id("tr_")
        links = {
            "self": _link(f"{self.url}/v2/payments/{payment_id}"),
            "dashboard": _link(f"{self.url}/dashboard/payments/{payment_id}", "text/html"),
            "documentation": _link(f"{DOCS}/payments-api/create-payment", "text/html"),
        }
        if sequence_type != "recurring":
            links["checkout"] = _link(f"{self.url}/checkout/{payment_id}", "text/html")
        if customer_id:
            links["customer"] = _link(f"{self.url}/v2/customers/{customer_id}")
        if mandate:
            links["mandate"] = _link(f"{self.url}/v2/customers/{customer_id}/mandates/{mandate['id']}")
        payment = {
            "resource": "payment",
            "id": payment_id,
            "mode": "test",
            "createdAt": _now(),
            "amount": amount,
            "description": body["description"],
            "method": "directdebit" if mandate else body.get("method"),
            "metadata": body.get("metadata"),
            "status": "pending" if mandate else "open",
            "isCancelable": bool(mandate),
            "expiresAt": (datetime.now(UTC) + timedelta(minutes=15)).replace(microsecond=0).isoformat(),
            "details": None,
            "profileId": "pfl_QkEhN94Ba",
            "sequenceType": sequence_type,
            "redirectUrl": body.get("redirectUrl"),
            "cancelUrl": body.get("cancelUrl"),
            "webhookUrl": body.get("webhookUrl"),
            "locale": body.get("locale"),
            "_links": links,
        }
        if customer_id:
            payment["customerId"] = customer_id
        if mandate:
            payment["mandateId"] = mandate["id"]
        self.payments[payment_id] = payment
        return payment

    def get_payment(self, payment_id: str) -> dict:
        if payment_id not in self.payments:
            raise MollieApiError(404, f"No payment exists with token {payment_id}.")
        return self.payments[payment_id]

    def create_refund(self, payment_id: str, body: dict) -> dict:
        payment = self.get_payment(payment_id)
        if payment["status"] != "paid":
            raise MollieApiError(422, "The payment cannot be refunded: it is not paid.")
        amount = self._amount(body.get("amount"))
        remaining = Decimal(payment["amountRemaining"]["value"])
        if Decimal(amount["value"]) > remaining:
            raise MollieApiError(
                422,
                f"The amount is higher than the amount that can be refunded (EUR {remaining}).",
                "amount",
            )
        refund_id = _new_id("re_")
        refund = {
            "resource": "refund",
            "id": refund_id,
            "amount": amount,
            "settlementAmount": {"currency": "EUR", "value": f"-{amount['value']}"},
            "description": body.get("description", ""),
            "metadata": body.get("metadata"),
            "status": "pending",
            "paymentId": payment_id,
            "createdAt": _now(),
            "_links": {
                "self": _link(f"{self.url}/v2/payments/{payment_id}/refunds/{refund_id}"),
                "payment": _link(f"{self.url}/v2/payments/{payment_id}"),
                "documentation": _link(f"{DOCS}/refunds-api/create-refund", "text/html"),
            },
        }
        self.refunds[refund_id] = refund
        refunded = Decimal(payment["amountRefunded"]["value"]) + Decimal(amount["value"])
        payment["amountRefunded"] = {"currency": "EUR", "value": f"{refunded:.2f}"}
        payment["amountRemaining"] = {
            "currency": "EUR",
            "value": f"{remaining - Decimal(amount['value']):.2f}",
        }
        payment["_links"]["refunds"] = _link(f"{self.url}/v2/payments/{payment_id}/refunds")
        return refund

    def _amount(self, amount) -> dict:
        if (
            not isinstance(amount, dict)
            or amount.get("currency") != "EUR"
            or not AMOUNT_VALUE.match(str(amount.get("value", "")))
        ):
            raise MollieApiError(422, "The amount is invalid.", "amount")
        if Decimal(amount["value"]) < Decimal("0.01"):
            raise MollieApiError(422, "The amount is lower than the minimum.", "amount")
        return {"currency": "EUR", "value": amount["value"]}

    def _create_mandate(self, payment: dict) -> dict:
        customer_id = payment["customerId"]
        mandate_id = _new_id("mdt_")
        mandate = {
            "resource": "mandate",
            "id": mandate_id,
            "mode": "test",
            "status": "valid",
            "method": "directdebit",
            "details": {
                "consumerName": "T. TEST",
                "consumerAccount": "NL55INGB0000000000",
                "consumerBic": "INGBNL2A",
            },
            "mandateReference": f"POSTBODE-{next(self._counter):04d}",
            "signatureDate": datetime.now(UTC).date().isoformat(),
            "createdAt": _now(),
            "customerId": customer_id,
            "_links": {
                "self": _link(f"{self.url}/v2/customers/{customer_id}/mandates/{mandate_id}"),
                "customer": _link(f"{self.url}/v2/customers/{customer_id}"),
                "documentation": _link(f"{DOCS}/mandates-api/get-mandate", "text/html"),
            },
        }
        self.mandates[mandate_id] = mandate
        payment["mandateId"] = mandate_id
        payment["_links"]["mandate"] = mandate["_links"]["self"]
        return mandate

    def _valid_mandate(self, customer_id: str, mandate_id: str | None) -> dict:
        mandates = [
            m
            for m in self.mandates.values()
            if m["customerId"] == customer_id and m["status"] == "valid" and mandate_id in (None, m["id"])
        ]
        if not mandates:
            raise MollieApiError(422, "The customer does not have a valid mandate.", "mandateId")
        return mandates[-1]

    def _public(self, item: dict) -> dict:
        return {
            key: value for key, value in item.items() if key != "customerId" or item["resource"] != "mandate"
        }

    def _list(self, name: str, items: list[dict], self_href: str) -> dict:
        return {
            "count": len(items),
            "_embedded": {name: [self._public(item) for item in items]},
            "_links": {
                "self": _link(self_href),
                "previous": None,
                "next": None,
                "documentation": _link(f"{DOCS}/{name}-api/list-{name}", "text/html"),
            },
        }

    # --- routing ------------------------------------------------------------------------------------------

    def route(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if parts[:1] != ["v2"]:
            raise MollieApiError(404, "The resource does not exist.")
        parts = parts[1:]
        with self._lock:
            match method, parts:
                case "POST", ["customers"]:
                    return 201, self.create_customer(body or {})
                case "GET", ["customers", customer_id]:
                    if customer_id not in self.customers:
                        raise MollieApiError(404, f"No customer exists with token {customer_id}.")
                    return 200, self.customers[customer_id]
                case "POST", ["payments"]:
                    return 201, self.create_payment(body or {})
                case "POST", ["customers", customer_id, "payments"]:
                    return 201, self.create_payment(body or {}, customer_id)
                case "GET", ["payments", payment_id]:
                    return 200, self.get_payment(payment_id)
                case "GET", ["customers", customer_id, "mandates"]:
                    items = [m for m in self.mandates.values() if m["customerId"] == customer_id]
                    return 200, self._list("mandates", items, f"{self.url}/v2/{'/'.join(parts)}")
                case "GET", ["customers", customer_id, "mandates", mandate_id]:
                    mandate = self.mandates.get(mandate_id)
                    if mandate is None or mandate["customerId"] != customer_id:
                        raise MollieApiError(404, f"No mandate exists with token {mandate_id}.")
                    return 200, self._public(mandate)
                case "POST", ["payments", payment_id, "refunds"]:
                    return 201, self.create_refund(payment_id, body or {})
                case "GET", ["payments", payment_id, "refunds"]:
                    self.get_payment(payment_id)
                    items = [r for r in self.refunds.values() if r["paymentId"] == payment_id]
                    return 200, self._list("refunds", items, f"{self.url}/v2/{'/'.join(parts)}")
                case "GET", ["payments", payment_id, "refunds", refund_id]:
                    refund = self.refunds.get(refund_id)
                    if refund is None or refund["paymentId"] != payment_id:
                        raise MollieApiError(404, f"No refund exists with token {refund_id}.")
                    return 200, refund
                case "GET", ["payments", payment_id, "chargebacks"]:
                    self.get_payment(payment_id)
                    items = [c for c in self.chargebacks.values() if c["paymentId"] == payment_id]
                    return 200, self._list("chargebacks", items, f"{self.url}/v2/{'/'.join(parts)}")
        raise MollieApiError(404, "The resource does not exist.")

    def checkout_page(self, payment_id: str) -> str:
        payment = self.payments[payment_id]
        buttons = "".join(
            f'<button type="submit" name="final_state" value="{o}" id="state-{o}">{o.capitalize()}</button> '
            for o in OUTCOMES
        )
        return (
            "<!doctype html><html><head><meta charset='utf-8'><title>Mollie test payment</title></head><body>"
            f"<h1>Test payment</h1><p id='description'>{escape(payment['description'])}</p>"
            f"<p id='amount'>EUR {escape(payment['amount']['value'])}</p>"
            f"<p id='status'>{escape(payment['status'])}</p>"
            f"<form method='post' action='/checkout/{escape(payment_id)}'>{buttons}</form></body></html>"
        )

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, payload: bytes, content_type: str, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def _api(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                fake.requests.append((method, self.path, body))
                authorization = self.headers.get("Authorization", "")
                key = self.headers.get("Idempotency-Key", "")
                headers = {}
                try:
                    if not authorization.startswith(f"Bearer {fake.api_key_prefix}"):
                        raise MollieApiError(401, "Missing authentication, or failed to authenticate")
                    if method == "POST" and key and key in fake._idempotent:
                        status, result = fake._idempotent[key]
                        headers["Idempotent-Replayed"] = "true"
                    else:
                        status, result = fake.route(method, self.path, body)
                        if method == "POST" and key:
                            fake._idempotent[key] = (status, result)
                except MollieApiError as error:
                    status, result = error.status, error.body()
                self._send(status, json.dumps(result).encode(), HAL, headers)

            def do_GET(self):
                if self.path.startswith("/checkout/"):
                    payment_id = self.path.split("/")[2]
                    if payment_id not in fake.payments:
                        return self._send(404, b"Not found", "text/plain")
                    return self._send(
                        200, fake.checkout_page(payment_id).encode(), "text/html; charset=utf-8"
                    )
                return self._api("GET")

            def do_POST(self):
                if self.path.startswith("/checkout/"):
                    return self._checkout_post()
                return self._api("POST")

            def do_DELETE(self):
                return self._api("DELETE")

            def _checkout_post(self):
                payment_id = self.path.split("/")[2]
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                outcome = (form.get("final_state") or [""])[0]
                payment = fake.payments.get(payment_id)
                if payment is None or outcome not in OUTCOMES:
                    return self._send(400, b"Bad request", "text/plain")
                if payment["status"] == "open":
                    fake.settle(payment_id, outcome)
                self.send_response(303)
                self.send_header("Location", payment["redirectUrl"])
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
