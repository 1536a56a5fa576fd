"""Subscriptions core: terms → billing cycle → due charges, and actions as pure quotes.

Pure Python (stdlib + ``kopeck.core``). Main entries:

* :class:`Terms` — plan spec, currency, quantity, start, anchor (anniversary | calendar billing
  day), first-period policy, trial end, end date, discount %, fixed price override, phase start,
  VAT rate and whether prices include VAT;
* :func:`due_charges` / :func:`quote_bill_due` — what should have been billed up to a date minus
  what was (:class:`DueCharge`: lines, explanation, gross amount);
* :func:`quote_phase_change` / :func:`quote_close` / :func:`quote_open` — the charges and credits
  an action posts (a credit: what was paid for a piece minus what the days kept cost priced alone);
  :func:`classify_change` — upgrade / downgrade / crossgrade;
* :func:`posting_of` / :func:`billed_after` — what posting a quote does to the billed pieces
  (:class:`BilledSlot`), the rules every writer executes;
* :func:`status_on` / :func:`billable_on` — a subscription's status on a day and whether it is
  billable then; :func:`period_containing` — the billing period of a day;
* :class:`BilledLine` — a billed line (a charge or a credit) as the typed value that crosses from
  subscriptions to billing runs and documents, with its JSON form.

Amounts are :class:`~kopeck.core.money.Money`, rounded once per line, half-up; dates are
provider-local; nothing here reads the clock.
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
    HeldUsage,
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
    "HeldUsage",
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
