from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "kopeck.common"
    label = "common"
    verbose_name = _("API")

    def ready(self) -> None:
        from kopeck.common import bulk  # noqa: F401 — registers the ``any_of`` lookup
