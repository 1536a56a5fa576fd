from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "kopeck.credit"
    label = "credit"
    verbose_name = _("Credit control")

    def ready(self) -> None:
        from kopeck.billing.ports import register_billing_holds
        from kopeck.credit.selectors import held_subscriptions_q

        register_billing_holds(held_subscriptions_q)

        from kopeck.credit.consumers import payments_received
        from kopeck.events.ports import register_consumer

        register_consumer("credit", payments_received, order=5)
