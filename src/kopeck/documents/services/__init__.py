"""Writers of documents: legal entities, variables, numbering rules, templates and settings; drafts,
issuing (one by hand, or many at once for a billing run or the monthly acts), cancelling, payments
of invoices, e-mail (re)sending, PDF caching. See docs/documents.md.

Issuing is the only place a number is taken (:mod:`kopeck.documents.numbering`): inside the issuing
transaction, together with the frozen data, the links to the ledger, the audit entry and the outbox
messages that render the PDF and send the e-mails after the commit.

The package, by seam: :mod:`.setup`, :mod:`.drafts`, :mod:`.issuing`, :mod:`.periodic` (a billing
run's documents, monthly acts), :mod:`.reconciliation`, :mod:`.lifecycle`, :mod:`.common`.
"""

from kopeck.documents.services.common import (
    CORRECTABLE,
    ISSUED_STATES,
    TOPIC_EMAIL,
    TOPIC_PDF,
    document_state,
)
from kopeck.documents.services.drafts import document_create_draft
from kopeck.documents.services.issuing import document_issue
from kopeck.documents.services.lifecycle import (
    document_cancel,
    document_mark_paid,
    document_pdf,
    document_resend,
    documents_deliveries_resume,
    invoice_paid_sync,
    invoices_paid_sync_bulk,
    template_preview,
)
from kopeck.documents.services.periodic import (
    documents_issue_for_run,
    documents_issue_monthly_acts,
    documents_monthly_acts_due,
    run_is_applied,
)
from kopeck.documents.services.reconciliation import document_reconciliation_create
from kopeck.documents.services.setup import (
    ENTITY_FIELDS,
    ENTITY_REQUIRED,
    SETTINGS_FIELDS,
    document_settings_update,
    document_template_reset,
    document_template_save,
    legal_entity_clean,
    legal_entity_create,
    legal_entity_state,
    legal_entity_update,
    numbering_rule_set,
    template_check,
    variable_delete,
    variable_set,
)

__all__ = [
    "CORRECTABLE", "ENTITY_FIELDS", "ENTITY_REQUIRED", "ISSUED_STATES", "SETTINGS_FIELDS", "TOPIC_EMAIL", "TOPIC_PDF",
    "document_cancel", "document_create_draft", "document_issue", "document_mark_paid", "document_pdf",
    "document_reconciliation_create", "document_resend", "document_settings_update", "document_state",
    "document_template_reset", "document_template_save", "documents_deliveries_resume", "documents_issue_for_run", "documents_issue_monthly_acts",
    "documents_monthly_acts_due", "invoice_paid_sync", "invoices_paid_sync_bulk", "legal_entity_clean", "legal_entity_create", "legal_entity_state",
    "legal_entity_update", "numbering_rule_set", "run_is_applied", "template_check", "template_preview",
    "variable_delete", "variable_set",
]
