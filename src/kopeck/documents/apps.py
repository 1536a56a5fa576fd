from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "kopeck.documents"
    label = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        from kopeck.billing.ports import register_run_documents
        from kopeck.documents.services import documents_issue_for_run

        register_run_documents(documents_issue_for_run)
