from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GatewaysConfig(AppConfig):
    name = "kopeck.gateways"
    label = "gateways"
    verbose_name = _("Payment gateways")

    def ready(self) -> None:
        from kopeck.gateways import tasks  # noqa: F401  (registers the scheduled jobs)
        from kopeck.gateways.models import ProviderCode
        from kopeck.payments.methods import register_method

        for code, label in ProviderCode.choices:  # a gateway payment is a payment with method = the gateway
            register_method(code, label, gateway=True)
