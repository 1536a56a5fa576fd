from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommonConfig(AppConfig):
    name = "kopeck.common"
    label = "common"
    verbose_name = _("API")

    def ready(self) -> None:
        from django.db import models

        from kopeck.common.bulk import AnyOf

        models.Field.register_lookup(AnyOf)
        models.ForeignObject.register_lookup(AnyOf)  # relations keep their own lookups
