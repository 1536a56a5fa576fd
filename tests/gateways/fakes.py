"""Local counterparts of the providers' APIs on loopback (port 0), speaking their protocols as documented:
ЮKassa /v3 (Basic auth, Idempotence-Key: the same key answers the same object), Robokassa's XML
OpStateExt and Recurring, CloudPayments' payments API (Basic auth), PayPal (OAuth token, Orders v2,
verify-webhook-signature), Qiwi bills. Tests set the provider-side state through the attributes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeProviders:
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    # ЮKassa: payment id -> object; idempotence key -> payment id
    yk_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    yk_keys: dict[str, str] = field(default_factory=dict)
    yk_decline_saved: bool = False
    yk_auth: str = "shop-1:test_secret"
    # Robokassa: InvId -> (state code, OutSum)
    robo_states: dict[str, tuple[str, str]] = field(default_factory=dict)
    robo_password1: str = "test-p1"
    robo_receipts: list[dict[str, Any]] = field(default_factory=list)
    # CloudPayments: InvoiceId -> model; decline token charges
    cp_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    cp_decline: bool = False
    cp_refund_decline: bool = False
    cp_receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # PayPal: order id -> order; the webhook signing key of the fake
    pp_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    pp_sig_key: str = "paypal-fake-signing-key"
    # Qiwi: bill id -> bill
    qiwi_bills: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paypal_sig(self, transmission_id: str, time: str, webhook_id: str, body: bytes) -> str:
        """What the fake's verify-webhook-signature accepts (it stands for PayPal's RSA check)."""
        base = f"{transmission_id}|{time}|{webhook_id}|{hashlib.sha256(body).hexdigest()}"
        return hmac.new(self.pp_sig_key.encode(), base.encode(), hashlib.sha256).hexdigest()

    def start(self) -> FakeProviders:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("content-length", "0") or 0))

            def _send(self, status: int, payload: Any, ctype: str = "application/json") -> None:
                data = payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                body = self._body() if method in ("POST", "PUT") else b""
                with owner._lock:
                    owner.calls.append(Call(method, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if owner.down:
                    self._send(503, {"error": "down"})
                    return
                parsed = urllib.parse.urlsplit(self.path)
                path, query = parsed.path, dict(urllib.parse.parse_qsl(parsed.query))
                try:
                    status, payload, ctype = owner.route(method, path, query, body, self.headers)
                except Exception as exc:  # a bug in the fake: make it visible
                    status, payload, ctype = 500, {"fake_error": repr(exc)}, "application/json"
                self._send(status, payload, ctype)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PUT(self) -> None:
                self._handle("PUT")

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ routing

    def route(self, method: str, path: str, query: dict[str, str], body: bytes,
              headers: Any) -> tuple[int, Any, str]:
        js = "application/json"
        if path.startswith("/v3/"):
            return (*self.yookassa(method, path[3:], body, headers), js)
        if path.startswith("/robokassa/"):
            return self.robokassa(path[len("/robokassa"):], query, body)
        if path.startswith("/cp/"):
            return (*self.cloudpayments(path[3:], body, headers), js)
        if path.startswith("/paypal/"):
            return (*self.paypal(method, path[len("/paypal"):], body, headers), js)
        if path.startswith("/qiwi/"):
            return (*self.qiwi(method, path[len("/qiwi"):], body, headers), js)
        return 404, {"error": "no such path"}, js

    def yookassa(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
        expected = "Basic " + base64.b64encode(self.yk_auth.encode()).decode()
        if headers.get("Authorization") != expected:
            return 401, {"type": "error", "code": "invalid_credentials"}
        if method == "POST" and not headers.get("Idempotence-Key"):
            return 400, {"type": "error", "code": "invalid_request", "description": "Idempotence-Key required"}
        if method == "POST" and path == "/payments":
            key = headers["Idempotence-Key"]
            with self._lock:
                if key in self.yk_keys:
                    return 200, self.yk_payments[self.yk_keys[key]]
                data = json.loads(body)
                pid = str(uuid.uuid4())
                obj: dict[str, Any] = {"id": pid, "status": "pending", "paid": False, "amount": data["amount"],
                                       "description": data.get("description", ""), "metadata": data.get("metadata", {}),
                                       "test": True, "created_at": "2026-11-25T09:00:00.000Z", "request": data}
                if "payment_method_id" in data:
                    obj["status"] = "canceled" if self.yk_decline_saved else "succeeded"
                    obj["paid"] = not self.yk_decline_saved
                    obj["payment_method"] = {"type": "bank_card", "id": data["payment_method_id"], "saved": True,
                                             "card": {"last4": "4444", "card_type": "MasterCard"}}
                    if self.yk_decline_saved:
                        obj["cancellation_details"] = {"party": "payment_network", "reason": "insufficient_funds"}
                else:
                    obj["confirmation"] = {"type": "redirect", "confirmation_url": f"{self.url}/pay/{pid}"}
                    if data.get("save_payment_method"):
                        obj["payment_method"] = {"type": "bank_card", "id": f"pm-{pid}", "saved": False,
                                                 "card": {"last4": "4242", "card_type": "Visa"}}
                self.yk_payments[pid] = obj
                self.yk_keys[key] = pid
            return 200, obj
        if method == "GET" and path.startswith("/payments/"):
            obj = self.yk_payments.get(path.rsplit("/", 1)[1])
            return (200, obj) if obj else (404, {"type": "error", "code": "not_found"})
        if method == "POST" and path == "/receipts":
            data = json.loads(body)
            return 200, {"id": f"rt-{uuid.uuid4()}", "type": data["type"], "payment_id": data["payment_id"],
                         "status": "pending", "items": data["items"], "settlements": data["settlements"]}
        if method == "POST" and path == "/refunds":
            data = json.loads(body)
            return 200, {"id": f"rf-{uuid.uuid4()}", "status": "succeeded", "payment_id": data["payment_id"],
                         "amount": data["amount"]}
        return 404, {"type": "error", "code": "not_found"}

    def yk_pay(self, pid: str, *, save: bool = False) -> dict[str, Any]:
        """The payer paid on ЮKassa's page."""
        obj = self.yk_payments[pid]
        obj["status"], obj["paid"] = "succeeded", True
        if save and "payment_method" in obj:
            obj["payment_method"]["saved"] = True
        return obj

    def robokassa(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any, str]:
        if path == "/OpStateExt":
            inv = query.get("InvoiceID", "")
            if inv not in self.robo_states:
                xml = ('<?xml version="1.0" encoding="utf-8"?><OperationStateResponse xmlns="http://merchant.roboxchange.com'
                       '/WebService/"><Result><Code>3</Code><Description>not found</Description></Result>'
                       '</OperationStateResponse>')
                return 200, xml, "text/xml"
            code, out_sum = self.robo_states[inv]
            xml = ('<?xml version="1.0" encoding="utf-8"?><OperationStateResponse xmlns="http://merchant.roboxchange.com'
                   f'/WebService/"><Result><Code>0</Code></Result><State><Code>{code}</Code></State><Info>'
                   f'<IncCurrLabel>BankCard</IncCurrLabel><OutSum>{out_sum}</OutSum></Info></OperationStateResponse>')
            return 200, xml, "text/xml"
        if path == "/RoboFiscal/Receipt/Attach":  # the second receipt: signed with Password #1 (the test one)
            encoded, _dot, signature = body.decode().partition(".")
            expected = base64.urlsafe_b64encode(hashlib.sha256((encoded + self.robo_password1).encode())
                                                .hexdigest().encode()).decode().rstrip("=")
            if not hmac.compare_digest(signature, expected):
                return 200, json.dumps({"ResultCode": "1", "ResultDescription": "bad signature"}), "application/json"
            payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            # "id": the final receipt's order number, an integer 1 … 2^63 − 1 other than originId
            receipt_id = str(payload.get("id", ""))
            if not receipt_id.isdigit() or not 1 <= int(receipt_id) <= 2**63 - 1 \
                    or receipt_id == str(payload.get("originId")):
                return 200, json.dumps({"ResultCode": "2", "ResultDescription": "bad id"}), "application/json"
            self.robo_receipts.append(payload)
            return 200, json.dumps({"ResultCode": "0", "ResultDescription": "ok",
                                    "OpKey": f"op-{payload['originId']}"}), "application/json"
        if path == "/Recurring":
            fields = dict(urllib.parse.parse_qsl(body.decode()))
            return 200, f"OK{fields['InvId']}", "text/plain"
        return 404, "no", "text/plain"

    def cloudpayments(self, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
        data = json.loads(body or b"{}")
        if path == "/payments/find":
            model = self.cp_payments.get(str(data.get("InvoiceId")))
            return 200, ({"Success": True, "Model": model} if model else
                         {"Success": False, "Message": "Not found", "Model": None})
        if path == "/payments/refund":
            if self.cp_refund_decline:
                return 200, {"Success": False, "Message": "Сумма возврата превышает доступную"}
            refunds = sum(1 for c in self.calls if c.path == "/cp/payments/refund")
            return 200, {"Success": True, "Model": {"TransactionId": int(data["TransactionId"]) + refunds}}
        if path == "/kkt/receipt":  # a receipt of the cash register: one per X-Request-ID
            key = headers.get("X-Request-ID", "")
            if not key or data.get("Type") not in ("Income", "IncomeReturn") or not data.get("Inn"):
                return 200, {"Success": False, "Message": "invalid request"}
            if key not in self.cp_receipts:
                self.cp_receipts[key] = data
            return 200, {"Success": True, "Model": {"Id": f"rc-{key}", "ErrorCode": 0}}
        if path == "/payments/tokens/charge":
            txn = 900000 + len(self.cp_payments)
            model = {"TransactionId": txn, "Amount": data["Amount"], "Currency": data["Currency"],
                     "InvoiceId": data["InvoiceId"], "AccountId": data["AccountId"], "Token": data["Token"],
                     "CardLastFour": "4444", "CardType": "MasterCard", "TestMode": True}
            if self.cp_decline:
                model.update({"Status": "Declined", "ReasonCode": 5051, "CardHolderMessage": "Недостаточно средств"})
                return 200, {"Success": False, "Message": None, "Model": model}
            model["Status"] = "Completed"
            self.cp_payments[str(data["InvoiceId"])] = model
            return 200, {"Success": True, "Message": None, "Model": model}
        return 404, {"Success": False}

    def paypal(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
        if path == "/v1/oauth2/token":
            return 200, {"access_token": "A21-fake", "token_type": "Bearer", "expires_in": 32400}
        if headers.get("Authorization") != "Bearer A21-fake":
            return 401, {"name": "AUTHENTICATION_FAILURE"}
        if path == "/v2/checkout/orders" and method == "POST":
            data = json.loads(body)
            oid = uuid.uuid4().hex[:17].upper()
            unit = data["purchase_units"][0]
            self.pp_orders[oid] = {"id": oid, "status": "CREATED", "purchase_units": [dict(unit)],
                                   "links": [{"rel": "approve", "href": f"{self.url}/checkoutnow?token={oid}"}]}
            return 201, self.pp_orders[oid]
        if path.startswith("/v2/checkout/orders/"):
            oid = path.split("/")[4]
            order = self.pp_orders.get(oid)
            if order is None:
                return 404, {"name": "RESOURCE_NOT_FOUND"}
            if path.endswith("/capture"):
                if order["status"] == "APPROVED":
                    unit = order["purchase_units"][0]
                    unit["payments"] = {"captures": [{"id": f"CAP-{oid}", "status": "COMPLETED", "amount": unit["amount"],
                                                      "invoice_id": unit["invoice_id"]}]}
                    order["status"] = "COMPLETED"
                elif order["status"] != "COMPLETED":
                    return 422, {"name": "UNPROCESSABLE_ENTITY"}
            return 200, order
        if path == "/v1/notifications/verify-webhook-signature":
            data = json.loads(body)
            raw = json.dumps(data["webhook_event"], separators=(",", ":"), sort_keys=True).encode()
            ok = hmac.compare_digest(self.paypal_sig(data["transmission_id"], data["transmission_time"],
                                                     data["webhook_id"], raw), data["transmission_sig"])
            return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}
        return 404, {"name": "NOT_FOUND"}

    def qiwi(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
        bill_id = path.rsplit("/", 1)[1]
        if method == "PUT":
            data = json.loads(body)
            self.qiwi_bills[bill_id] = {"siteId": "site-1", "billId": bill_id, "amount": data["amount"],
                                        "status": {"value": "WAITING"}, "payUrl": f"{self.url}/qiwi-pay/{bill_id}"}
            return 200, self.qiwi_bills[bill_id]
        bill = self.qiwi_bills.get(bill_id)
        return (200, bill) if bill else (404, {"errorCode": "bill.not.found"})
