from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "kopeck.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from kopeck.documents.ports import (
            register_invoice_payer,
            register_shipment_cancel_listener,
            register_shipment_listener,
        )
        from kopeck.payments.services import (
            advances_offset_shipments,
            advances_release_cancelled_shipments,
            invoice_pay_by_hand,
        )

        register_invoice_payer(invoice_pay_by_hand)
        register_shipment_listener(advances_offset_shipments)
        register_shipment_cancel_listener(advances_release_cancelled_shipments)

        from kopeck.common.http.guard import allow_upload

        allow_upload("/api/v1/bank-statements/")
