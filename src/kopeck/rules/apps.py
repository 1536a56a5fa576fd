from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "kopeck.rules"
    label = "rules"
    verbose_name = _("Business rules")

    def ready(self) -> None:
        from kopeck.events.ports import register_consumer
        from kopeck.rules.engine import process_events

        register_consumer("rules", process_events, order=20)
