from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "kopeck.operators"
    label = "operators"
    verbose_name = _("Operators and API keys")

    def ready(self) -> None:
        from kopeck.common.http import principals
        from kopeck.operators import schema  # noqa: F401 - registers the OpenAPI security scheme
        from kopeck.operators.permissions import OperatorPrincipals

        principals.register(OperatorPrincipals())
