from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewaysConfig(AppConfig):
    name = "kopeck.gateways"
    label = "gateways"
    verbose_name = _("Payment gateways")

    def ready(self) -> None:
        from kopeck.events.ports import register_consumer
        from kopeck.gateways import tasks  # noqa: F401  (registers the scheduled jobs)
        from kopeck.gateways.crediting import refund
        from kopeck.gateways.models import ProviderCode
        from kopeck.gateways.offsets import documents_issued
        from kopeck.payments.methods import register_method

        for code, label in ProviderCode.choices:  # a gateway payment is a payment with method = the gateway
            register_method(code, label, gateway=True, refund=refund)  # refunded through the provider
        register_consumer("gateways", documents_issued)  # an act issued → the offset receipts it calls for
