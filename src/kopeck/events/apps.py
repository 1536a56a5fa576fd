from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    name = "kopeck.events"
    label = "events"
    verbose_name = _("Events")

    def ready(self) -> None:
        from kopeck.events.catalog import check_catalog

        check_catalog()
