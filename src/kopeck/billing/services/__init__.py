"""Writers of billing runs: create a run, execute it (sandbox: compute and store only; auto:
compute, then post; confirm: compute, then exclude / include, confirm or reject), retry its errors;
the daily scheduled run; and the readers built on a run's stored result: CSV export and the
comparison of two runs. See docs/billing.md.

A sandbox run computes every subscription in scope with
:func:`kopeck.subscriptions.batch.subscriptions_bill_batch` in preview mode — exactly the items a
real billing on that date would post — and stores one :class:`RunItem` per subscription. Nothing
reaches the ledger, no billed period is recorded, no subscription changes, no number is consumed.

Execution streams the subscriptions in chunks (``KOPECK_BILLING_CHUNK``) at client boundaries;
each chunk's items and the progress are written in one transaction. It is resumable: the chunks
done are skipped, so an interrupted run finishes with the same result.

The package, by seam: :mod:`.runs` (scope, create), :mod:`.engine` (chunks), :mod:`.review`
(confirmation mode), :mod:`.dispatch` (in this process or on workers; the daily run),
:mod:`.reports` (summary, export, compare).
"""

from kopeck.billing.services.dispatch import (
    billing_daily_run_due,
    billing_run_chunk_task,
    billing_run_confirm,
    billing_run_confirm_dispatch,
    billing_run_confirm_start,
    billing_run_dispatch,
    billing_run_execute,
    billing_run_start,
)
from kopeck.billing.services.engine import billing_run_retry_errors, process_chunk
from kopeck.billing.services.reports import (
    CSV_COLUMNS,
    billing_runs_compare,
    run_export_csv,
    run_lines,
    run_summary,
)
from kopeck.billing.services.review import (
    RunChanged,
    billing_run_exclude,
    billing_run_include,
    billing_run_reject,
)
from kopeck.billing.services.runs import Progress, billing_run_create, chunk_size, run_subscriptions

__all__ = [
    "CSV_COLUMNS", "Progress", "RunChanged", "billing_daily_run_due", "billing_run_chunk_task", "billing_run_confirm",
    "billing_run_confirm_dispatch", "billing_run_confirm_start", "billing_run_create", "billing_run_dispatch",
    "billing_run_exclude", "billing_run_execute", "billing_run_include", "billing_run_reject",
    "billing_run_retry_errors", "billing_run_start", "billing_runs_compare", "chunk_size", "process_chunk",
    "run_export_csv", "run_lines", "run_subscriptions", "run_summary",
]
