from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "kopeck.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from kopeck.events.ports import register_consumer
        from kopeck.webhooks.services import deliveries_for_events

        register_consumer("webhooks", deliveries_for_events, order=10)
