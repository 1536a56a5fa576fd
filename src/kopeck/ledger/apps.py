from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "kopeck.ledger"
    label = "ledger"
    verbose_name = _("Client accounts (ledger)")
