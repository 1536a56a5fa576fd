"""Subscriptions core: terms → billing cycle → due charges, and actions as pure quotes.

Pure Python (stdlib + ``kopeck.core``). Main entries:

* :class:`Terms` — plan spec, currency, quantity, start, anchor (anniversary | calendar billing
  day), first-period policy, trial end, end date, discount %, fixed price override, phase start;
* :func:`due_charges` — what should have been billed up to a date minus what was;
* :func:`quote_phase_change` / :func:`quote_close` / :func:`quote_open` — the charges and credits
  an action posts; :func:`classify_change` — upgrade / downgrade / crossgrade.
"""

from kopeck.core.subscriptions.actions import (
    BilledSlot,
    ChangeKind,
    Credit,
    Quote,
    billed_keys,
    classify_change,
    new_billing_day_terms,
    period_end,
    quote_bill_due,
    quote_close,
    quote_open,
    quote_phase_change,
)
from kopeck.core.subscriptions.billing import (
    DISCOUNT,
    FIXED_PRICE,
    SETUP_FEE,
    DueCharge,
    Line,
    UsageSource,
    annual_fee,
    due_charges,
    pieces,
    recurring_fee,
)
from kopeck.core.subscriptions.lifecycle import Status, billable_on, status_on
from kopeck.core.subscriptions.lines import CHARGE, CREDIT, BilledLine
from kopeck.core.subscriptions.posting import ChargeEntry, Marker, Posting, billed_after, posting_of
from kopeck.core.subscriptions.terms import (
    Anchor,
    FirstPeriod,
    Slot,
    Terms,
    TermsError,
    billing_cycle,
    period_containing,
    slot_containing,
    slots,
    trial_end_for,
)

__all__ = [
    "CHARGE",
    "CREDIT",
    "DISCOUNT",
    "FIXED_PRICE",
    "SETUP_FEE",
    "Anchor",
    "BilledLine",
    "BilledSlot",
    "ChangeKind",
    "ChargeEntry",
    "Credit",
    "DueCharge",
    "FirstPeriod",
    "Line",
    "Marker",
    "Posting",
    "Quote",
    "Slot",
    "Status",
    "Terms",
    "TermsError",
    "UsageSource",
    "annual_fee",
    "billable_on",
    "billed_after",
    "billed_keys",
    "billing_cycle",
    "classify_change",
    "due_charges",
    "new_billing_day_terms",
    "period_containing",
    "period_end",
    "pieces",
    "posting_of",
    "quote_bill_due",
    "quote_close",
    "quote_open",
    "quote_phase_change",
    "recurring_fee",
    "slot_containing",
    "slots",
    "status_on",
    "trial_end_for",
]
