"""``kopeck demo``: load demo clients with valid requisites and a few account operations, a hosting
product with a plan, a subscription to it (billed by the daily billing run) and the provider's
legal entity.

Idempotent: clients are keyed by their external id (``demo-…``); operations are posted only for
clients created in this run."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kopeck.catalog.models import Product
from kopeck.catalog.services import plan_create, plan_version_create, plan_version_publish, product_create
from kopeck.cli.command import KopeckCommand
from kopeck.clients.models import Client
from kopeck.clients.services import client_create
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_today
from kopeck.core.requisites import inn_check_digits
from kopeck.documents.models import LegalEntity
from kopeck.documents.services import documents_issue_monthly_acts, legal_entity_create
from kopeck.ledger.services import ledger_operation_post
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.services import subscription_create

CLIENTS: list[dict[str, Any]] = [
    {
        "external_id": "demo-romashka", "type": "legal", "name": "ООО «Ромашка»", "tags": ["хостинг", "ключевой клиент"],
        "fields": {"full_name": "Общество с ограниченной ответственностью «Ромашка»", "short_name": "ООО «Ромашка»",
                   "inn": "7707083893", "kpp": "773601001", "ogrn": "1027700132195",
                   "legal_address": "117997, г. Москва, ул. Вавилова, д. 19", "director": "Иванов И. И.",
                   "bank_name": "ПАО Сбербанк", "bik": "044525225",
                   "settlement_account": "40702810938000012345",
                   "correspondent_account": "30101810400000000225"},
        "contacts": [{"kind": "email", "value": "buh@romashka.example"},
                     {"kind": "phone", "value": "+7 495 123-45-67", "receives_documents": False}],
        "operations": [("payment", "50000.00", "Оплата по счёту № 1", "п/п 101"),
                       ("charge", "12200.00", "Хостинг, ноябрь", ""),
                       ("one_off_charge", "3660.00", "Настройка сервера", "")],
    },
    {
        "external_id": "demo-oblako", "type": "legal", "name": "АО «Облако»", "tags": ["облако"],
        "fields": {"full_name": "Акционерное общество «Облако»", "inn": "7736207543", "kpp": "770401001",
                   "ogrn": "1027700229193", "bik": "044525225"},
        "contacts": [{"kind": "email", "value": "billing@oblako.example"}],
        "operations": [("payment", "120000.00", "Аванс", "п/п 7"), ("charge", "24400.00", "IaaS, ноябрь", "")],
    },
    {
        "external_id": "demo-ip-petrov", "type": "sole_proprietor", "name": "ИП Петров П. П.", "tags": ["SaaS"],
        "fields": {"full_name": "Петров Пётр Петрович", "inn": "500100732259", "ogrnip": "304500000000010"},
        "contacts": [{"kind": "email", "value": "petrov@example.ru"}],
        "operations": [("payment", "3000.00", "Оплата картой", ""), ("bonus", "500.00", "Бонус за отзыв", "")],
    },
    {
        "external_id": "demo-sidorova", "type": "individual", "name": "Сидорова Анна", "tags": [],
        "fields": {"full_name": "Сидорова Анна Сергеевна", "phone": "+7 916 000-00-00"},
        "contacts": [{"kind": "email", "value": "anna@example.ru"}],
        "operations": [("payment", "990.00", "Оплата тарифа", ""), ("charge", "990.00", "VPS, ноябрь", "")],
    },
]


VPS_PLAN: dict[str, Any] = {
    "code": "vps-s", "name": "VPS S",
    "billing_period": {"unit": "month", "count": 1},
    "currencies": ["RUB"],
    "trial": {"days": 7},
    "setup_fee": {"RUB": "500.00"},
    "components": [
        {"code": "base", "name": "VPS S: 2 vCPU, 4 ГБ", "kind": "fixed", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "990.00"}}},
        {"code": "ip", "name": "Дополнительный IPv4", "kind": "per_unit", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "150.00"}}},
        {"code": "traffic", "name": "Исходящий трафик, ГБ", "kind": "metered", "billing": "in_arrears",
         "prices": {"RUB": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                            "tiers": [{"from": "0", "up_to": "1000", "unit_price": "0"},
                                      {"from": "1000", "up_to": "5000", "unit_price": "1.50"},
                                      {"from": "5000", "up_to": None, "unit_price": "1.00"}]}}},
    ],
}


def _load_catalog(actor: Actor) -> bool:
    """A hosting product with one published plan; False when it is already there."""
    if Product.objects.filter(code="vps").exists():
        return False
    with transaction.atomic():
        product = product_create(actor=actor, code="vps", name_ru="Виртуальный сервер", name_en="Virtual server",
                                 vat_rate="22", unit="мес")
        plan = plan_create(actor=actor, product=product, code="vps-s", name_ru="VPS S", name_en="VPS S")
        version = plan_version_create(actor=actor, plan=plan, spec=VPS_PLAN)
        plan_version_publish(actor=actor, version=version, effective_from=provider_today())
    return True


def _load_subscription(actor: Actor) -> bool:
    """ООО «Ромашка» on VPS S with two extra IPv4 addresses from today; False when present. Nothing is
    billed here: the daily billing run (started by the scheduler of ``kopeck serve``) bills it and
    issues the invoice, as it bills every subscription."""
    if Subscription.objects.filter(external_id="demo-vps-1").exists():
        return False
    subscription_create(actor=actor, client=Client.objects.get(external_id="demo-romashka"), plan="vps-s",
                        quantity=2, no_trial=True, external_id="demo-vps-1")
    return True


def _ogrn(first12: str) -> str:
    return first12 + str(int(first12) % 11 % 10)


DEMO_INN_PREFIX = "770000003"  # a made-up ИНН (valid check digits), not a real company's
DEMO_PROVIDER = {
    "name": "ООО «Копейка-демо»", "full_name": "Общество с ограниченной ответственностью «Копейка-демо»",
    "inn": DEMO_INN_PREFIX + inn_check_digits(DEMO_INN_PREFIX), "kpp": "770001001", "ogrn": _ogrn("102770000003"),
    "legal_address": "125009, г. Москва, ул. Тверская, д. 1", "bank_name": "ПАО Сбербанк",
    "bik": "044525225", "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225", "director_name": "Иванов И. И.",
    "accountant_name": "Петрова П. П.",
}


def _load_documents(actor: Actor) -> int:
    """The provider's legal entity (the demo's, with made-up requisites) and this month's acts for
    the charges so far, so that the documents pages show something; how many acts were issued."""
    if LegalEntity.objects.exists():
        return 0
    legal_entity_create(actor=actor, **DEMO_PROVIDER)
    return len(documents_issue_monthly_acts(actor=actor, month=provider_today().strftime("%Y-%m"), kind="act"))


class Command(KopeckCommand):
    help = gettext_lazy("Load demo data (idempotent).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("demo")
        created = 0
        for spec in CLIENTS:
            data = {k: v for k, v in spec.items() if k != "operations"}
            if Client.objects.filter(external_id=data["external_id"]).exists():
                continue
            with transaction.atomic():
                client = client_create(actor=actor, **data)
                for operation, amount, reason, ref in spec["operations"]:
                    ledger_operation_post(actor=actor, client=client, operation=operation, amount=amount,
                                          reason=reason, source_ref=ref)
            created += 1
        catalog = _load_catalog(actor)
        _load_subscription(actor)
        acts = _load_documents(actor)
        present = len(CLIENTS) - created
        self.stdout.write(self.style.SUCCESS(_("Demo data: %(clients)s, %(present)s; %(catalog)s; %(acts)s.") % {
            "clients": ngettext("%(count)d client created", "%(count)d clients created", created) % {"count": created},
            "present": ngettext("%(count)d already present", "%(count)d already present", present) % {"count": present},
            "catalog": _("catalog created") if catalog else _("catalog already present"),
            "acts": ngettext("%(count)d act issued", "%(count)d acts issued", acts) % {"count": acts}}))
