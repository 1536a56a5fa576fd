#!/usr/bin/env python3
"""Screenshots of every back-office page, in Russian and English, for review — and a check of the
Russian ones.

    .venv/bin/python scripts/screenshots.py                 # all pages, 1280 and 1920 px, into var/screenshots
    .venv/bin/python scripts/screenshots.py --only client   # the pages whose name contains "client"
    .venv/bin/python scripts/screenshots.py --widths 1280 --languages ru --no-images   # the check only

It sets up a fresh embedded database with the demo data (``kopeck demo``) in a temporary directory,
serves it on a free loopback port, logs in and renders every admin list, add and change page (the
first object of each model) and the back office's own pages (dashboard, search, a billing run,
subscription actions, a statement…) with the distribution's Chromium (/usr/bin/chromium, or
KOPECK_CHROMIUM). Russian pages are checked for:

* a nominative right after «Выберите / Добавить / Изменить / Удалить» (a model's name that needs
  another case there, see kopeck.common.grammar);
* an untranslated English word (Latin words other than the names in ALLOWED);
* a component code of the catalogue's plans (``base``, ``setup_fee``…) or a status code.

Code the operator edits on purpose (a plan version's price JSON, a document template, a document's
data) is in elements marked ``kopeck-code``, English on purpose (a product's English name) in
elements with ``lang="en"``, and identifiers the operator chose (plan and product codes, external
ids) are data: none of these is checked. Exit status 1 when a check fails."""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"

# Latin words a Russian page may show: the product's name, formats, protocols and the demo's names
# of things (a VPS, an IPv4 address) that Russian hosting operators write this way.
ALLOWED = {
    "kopeck", "pdf", "api", "csv", "xlsx", "json", "html", "jinja", "smtp", "tls", "ssl", "starttls", "ipv4",
    "vps", "vcpu", "iaas", "saas", "url", "e-mail", "email", "utc", "msk", "id", "ssd", "ram", "cpu", "www",
    "example", "ru", "com", "admin", "http", "https", "localhost", "ooo", "gb", "mb", "tb", "ip",
    "rub", "usd", "eur",  # ISO currency codes, as accountants write them
    "english",  # the language switcher names each language in itself
    "esc",  # a key on the keyboard
    "cloudpayments", "paypal", "qiwi", "p2p",  # payment aggregators' names, written so in Russian too
    "visa", "mastercard",  # card brands (a saved card's title)
}
LATIN = re.compile(r"(?<![\w@./-])[A-Za-z][A-Za-z-]{2,}(?![\w@])")
EMAILISH = re.compile(r"\S+@\S+|https?://\S+|\b[\w-]+\.(?:example|ru|com|local)\b")

PAGE_SCRIPT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('.kopeck-code, [lang=en], script, style, textarea, template, .sr-only, .material-symbols-outlined, #nav-sidebar select')
       .forEach(e => e.remove());
  const hidden = [];
  return {text: clone.innerText, title: document.title,
          placeholders: Array.from(document.querySelectorAll('input[placeholder]')).map(e => e.placeholder),
          overflow: document.documentElement.scrollWidth > window.innerWidth + 1};
}"""


RUN_AWAITING = """
from kopeck.billing.models import BillingRun, RunMode
from kopeck.billing.services import billing_run_create, billing_run_execute
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_today
if not BillingRun.objects.exists():
    actor = Actor.system("screenshots")
    billing_run_execute(actor=actor, run=billing_run_create(actor=actor, billing_date=provider_today(),
                                                            mode=RunMode.CONFIRM))
"""
# a usage threshold on the demo subscription's traffic, so that its change page is rendered
THRESHOLD = """
from kopeck.common.actor import Actor
from kopeck.subscriptions.models import Subscription
from kopeck.usage.models import UsageThreshold
from kopeck.usage.services import usage_threshold_create
sub = Subscription.objects.filter(external_id="demo-vps-1").first()
if sub is not None and not UsageThreshold.objects.exists():
    usage_threshold_create(actor=Actor.system("screenshots"), subscription=sub, metric="traffic", amount="1000")
"""

# online payments through Robokassa (its notifications are verified locally: no provider is called) — one
# credited, a copy, a wrong amount, a forged signature — a ЮKassa notification from a stranger's address,
# a declined autopayment charge: so that the gateways' change pages show each kind of stored message
GATEWAYS = """
import datetime as dt, hashlib, urllib.parse
from kopeck.clients.models import Client
from kopeck.common import secrets
from kopeck.common.actor import Actor
from kopeck.common.clock import now
from kopeck.gateways.autopay import autopay_enable
from kopeck.gateways.models import AutopayCharge, GatewayPayment, GatewayRefund, GatewaySetting, SavedMethod
from kopeck.gateways.notifications import notification_receive, notifications_settle
from kopeck.gateways.services import online_payment_create, setting_save
if not GatewaySetting.objects.exists():
    actor = Actor.system("screenshots")
    robokassa = setting_save(actor=actor, setting=GatewaySetting(
        provider="robokassa", name="Робокасса, основной магазин", options={"login": "demo-shop", "hash": "sha256"}),
        credentials={"password1": "p1", "password2": "p2", "test_password1": "t1", "test_password2": "t2"})
    yookassa = setting_save(actor=actor, setting=GatewaySetting(
        provider="yookassa", name="ЮKassa", options={"shop_id": "100500"}), credentials={"secret_key": "s"})
    client = Client.objects.order_by("pk").first()
    first, second = (online_payment_create(actor=actor, client=client, setting=robokassa, amount="1500.00")
                     for _ in range(2))

    def result(order, out_sum, password="t2"):
        shp = f"Shp_order={order.order_id}"
        sign = hashlib.sha256(f"{out_sum}:{order.pk}:{password}:{shp}".encode()).hexdigest()
        return urllib.parse.urlencode({"OutSum": out_sum, "InvId": order.pk, "Shp_order": order.order_id,
                                       "IsTest": "1", "SignatureValue": sign}).encode()

    def receive(setting, body, addr="127.0.0.1"):
        notification_receive(provider_code=setting.provider, setting_id=setting.pk, kind="notify", body=body,
                             headers={}, remote_addr=addr)
        notifications_settle()

    receive(robokassa, result(second, "1499.00"))
    receive(robokassa, result(first, "1500.00"))
    receive(robokassa, result(first, "1500.00"))
    receive(robokassa, result(first, "1500.00", password="guess"))
    receive(yookassa, b'{"event": "payment.succeeded", "object": {"id": "2f8e"}}', addr="203.0.113.7")
    method = SavedMethod.objects.create(client=client, setting=robokassa, title="Visa •••• 4242",
                                        token_encrypted=secrets.encrypt(str(first.pk)), created_at=now())
    autopay = autopay_enable(actor=actor, client=client, method=method, on_invoice=True)
    declined = GatewayPayment.objects.create(
        setting=robokassa, client=client, order_id="5f0c2d0a9e1b4c7d8e6f1a2b3c4d5e6f", amount_minor=99000, currency=client.currency,
        description="Автоплатёж: пополнение", status="failed", failure_reason="insufficient_funds",
        created_by="screenshots", created_at=now(), updated_at=now())
    AutopayCharge.objects.create(autopay=autopay, amount_minor=99000, currency=client.currency, status="scheduled",
                                 attempts=1, next_attempt_at=now() + dt.timedelta(hours=24),
                                 last_error="insufficient_funds", payment=declined, created_at=now())
    GatewayRefund.objects.create(payment=first, amount_minor=50000, status="failed", reason="Отказ от услуги",
                                 created_by="screenshots", created_at=now())
"""

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kopeck(env: dict[str, str], *args: str) -> str:
    return subprocess.run([str(BIN / "kopeck"), *args], env=env, check=True, capture_output=True, text=True).stdout


def page_list(env: dict[str, str]) -> dict[str, Any]:
    """The pages to render and the words to check, computed by Django in a child process."""
    code = r'''
import json
from django.contrib import admin
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from kopeck.common import grammar
from kopeck.operators.models import Operator

user = Operator.objects.get(username="admin")
request = RequestFactory().get("/admin/")
request.user = user
pages = []
for model, model_admin in sorted(admin.site._registry.items(), key=lambda kv: kv[0]._meta.label_lower):
    opts = model._meta
    base = f"admin:{opts.app_label}_{opts.model_name}"
    name = opts.label_lower.replace(".", "-")
    pages.append({"name": f"{name}-list", "path": reverse(f"{base}_changelist")})
    if model_admin.has_add_permission(request):
        pages.append({"name": f"{name}-add", "path": reverse(f"{base}_add")})
    obj = model.objects.order_by("pk").first()
    if obj is not None:
        pages.append({"name": f"{name}-change", "path": reverse(f"{base}_change", args=[obj.pk])})

def extra(name, url_name, *args, query=""):
    try:
        pages.append({"name": name, "path": reverse(url_name, args=args) + query})
    except NoReverseMatch:
        pass

from kopeck.billing.models import BillingRun
from kopeck.clients.models import Client
from kopeck.subscriptions.models import Subscription
extra("dashboard", "admin:index")
extra("search", "kopeck_search", query="?q=%D0%BE%D0%BE%D0%BE&all=1")
extra("billing-new-run", "admin:billing_billingrun_new")
run = BillingRun.objects.order_by("-pk").first()
if run is not None:
    extra("billing-run", "admin:billing_billingrun_run", run.pk)
client = Client.objects.order_by("pk").first()
extra("ledger-post", "admin:ledger_journaltransaction_post")
if client is not None:
    extra("ledger-statement", "admin:ledger_journaltransaction_statement", client.pk)
sub = Subscription.objects.order_by("pk").first()
if sub is not None:
    for action in ("change_plan", "cancel", "suspend", "bill_due"):
        extra(f"subscription-action-{action}", "admin:subscriptions_subscription_action", sub.pk, action,
              query="?_preview=1" if action == "bill_due" else "")
extra("mail-test", "admin:configuration_mailsettings_test")

nominatives = {}
with translation.override("ru"):
    for model in admin.site._registry:
        nom = str(model._meta.verbose_name).lower()
        acc = grammar.name_in(model, "accusative").lower()
        if nom != acc:
            nominatives[nom] = acc
codes = set()
from kopeck.catalog.models import PlanVersion
for version in PlanVersion.objects.all():
    for component in (version.spec or {}).get("components", []):
        codes.add(component.get("code", ""))
    if (version.spec or {}).get("setup_fee"):
        codes.add("setup_fee")
from kopeck.catalog.models import Plan, Product
identifiers = {*Plan.objects.values_list("code", flat=True), *Product.objects.values_list("code", flat=True),
               *Client.objects.exclude(external_id=None).values_list("external_id", flat=True),
               *Subscription.objects.exclude(external_id=None).values_list("external_id", flat=True)}
print(json.dumps({"pages": pages, "nominatives": nominatives, "codes": sorted(c for c in codes if c),
                  "identifiers": sorted(i.lower() for i in identifiers if i)}))
'''
    out = kopeck(env, "shell", "-c", code)
    return dict(json.loads(out.strip().splitlines()[-1]))


def check_russian(text: str, placeholders: list[str], nominatives: dict[str, str], codes: list[str],
                  identifiers: list[str]) -> list[str]:
    problems = []
    full = "\n".join([text, *placeholders])
    for verb in ("Выберите", "Добавить", "Изменить", "Удалить"):
        for match in re.finditer(rf"{verb}\s+([^\n]+)", full, flags=re.IGNORECASE):
            rest = match.group(1).lower()
            for nom, acc in nominatives.items():
                if rest.startswith(nom) and not rest.startswith(acc):
                    problems.append(f"nominative after «{verb}»: «{verb} {match.group(1)[:40]}»")
    cleaned = EMAILISH.sub(" ", full)
    known = ALLOWED | set(identifiers)
    english = sorted({w for w in LATIN.findall(cleaned) if w.lower() not in known
                      and not any(w.lower() in i.split("-") or i.startswith(w.lower()) for i in identifiers)})
    if english:
        problems.append("English words: " + ", ".join(english[:30]))
    found = sorted({c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", cleaned)})
    if found:
        problems.append("component codes: " + ", ".join(found))
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "var" / "screenshots"))
    parser.add_argument("--widths", default="1280,1920")
    parser.add_argument("--languages", default="ru,en")
    parser.add_argument("--only", default="", help="render only the pages whose name contains this")
    parser.add_argument("--no-images", action="store_true", help="check the pages without writing PNGs")
    parser.add_argument("--var", default="", help="reuse this data directory (default: a fresh temporary one)")
    args = parser.parse_args()

    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    var = Path(args.var) if args.var else Path(tempfile.mkdtemp(prefix="kopeck-shots-"))
    password = secrets.token_urlsafe(12)
    env = {**os.environ, "KOPECK_VAR_DIR": str(var), "KOPECK_SCHEDULER": "off", "KOPECK_ADMIN_USERNAME": "admin",
           "KOPECK_ADMIN_PASSWORD": password}
    env.pop("DATABASE_URL", None)
    kopeck(env, "migrate", "--no-input", "-v", "0")
    kopeck(env, "demo")
    kopeck(env, "ensure_operator")
    # a billing run awaiting confirmation, so that its page (and the dashboard's card) are rendered
    kopeck(env, "shell", "-c", RUN_AWAITING)
    kopeck(env, "shell", "-c", THRESHOLD)
    kopeck(env, "shell", "-c", GATEWAYS)
    info = page_list(env)
    pages = [p for p in info["pages"] if args.only in p["name"]]
    port = free_port()
    server = subprocess.Popen([str(BIN / "kopeck"), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    problems: dict[str, list[str]] = {}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/admin/login/", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        out = Path(args.out)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=os.environ.get("KOPECK_CHROMIUM", "/usr/bin/chromium"),
                                         args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
            page = context.new_page()
            page.goto(f"{base}/admin/login/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            for language in args.languages.split(","):
                prefix = "" if language == "ru" else f"/{language}"
                for width in [int(w) for w in args.widths.split(",")]:
                    page.set_viewport_size({"width": width, "height": 900})
                    for item in pages:
                        response = page.goto(f"{base}{prefix}{item['path']}")
                        try:  # a live page polls (a billing run's progress): never idle — then just loaded
                            page.wait_for_load_state("networkidle", timeout=5000)
                        except PlaywrightTimeout:
                            page.wait_for_load_state("load")
                        # the sticky bar of buttons would cover the middle of a full-page picture
                        page.add_style_tag(content="#submit-row, .sticky, [class*='sticky'] {position: static !important}")
                        name = f"{language}/{width}/{item['name']}"
                        status = response.status if response else 0
                        if status >= 400:
                            problems.setdefault(name, []).append(f"HTTP {status} at {item['path']}")
                        seen = page.evaluate(PAGE_SCRIPT)
                        if seen["overflow"]:
                            problems.setdefault(name, []).append("wider than the window (scrolls sideways)")
                        if language == "ru":
                            found = check_russian(seen["text"] + "\n" + seen["title"], seen["placeholders"],
                                                  info["nominatives"], info["codes"], info["identifiers"])
                            if found:
                                problems.setdefault(name, []).extend(found)
                        if not args.no_images:
                            target = out / f"{name}.png"
                            target.parent.mkdir(parents=True, exist_ok=True)
                            page.screenshot(path=str(target), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    count = len(pages) * len(args.languages.split(",")) * len(args.widths.split(","))
    print(f"{count} pages rendered" + ("" if args.no_images else f" into {args.out}"))
    for name, found in sorted(problems.items()):
        for problem in found:
            print(f"  {name}: {problem}")
    print("no problems found" if not problems else f"{len(problems)} pages with problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
