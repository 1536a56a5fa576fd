"""One module per provider behind the port of kopeck.gateways.providers.base."""

from __future__ import annotations

from kopeck.gateways.providers.base import Provider
from kopeck.gateways.providers.cloudpayments import CloudPayments
from kopeck.gateways.providers.paypal import PayPal
from kopeck.gateways.providers.qiwi import Qiwi
from kopeck.gateways.providers.robokassa import Robokassa
from kopeck.gateways.providers.yookassa import YooKassa
from kopeck.gateways.providers.yoomoney import YooMoney

PROVIDERS: dict[str, Provider] = {p.code: p for p in (YooKassa(), Robokassa(), CloudPayments(), YooMoney(), PayPal(),
                                                      Qiwi())}


def provider(code: str) -> Provider:
    return PROVIDERS[code]
