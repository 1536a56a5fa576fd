from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsageConfig(AppConfig):
    name = "kopeck.usage"
    label = "usage"
    verbose_name = _("Usage")

    def ready(self) -> None:
        from kopeck.subscriptions.ports import register_usage_reader
        from kopeck.usage.selectors import StoredUsageReader

        register_usage_reader(StoredUsageReader())
