from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "kopeck.outbox"
    label = "outbox"
    verbose_name = _("Outbox")

    def ready(self) -> None:
        from kopeck.outbox.registry import autodiscover

        autodiscover()
