"""Writers for subscriptions: create, bill what is due, the actions (plan change, quantity change,
cancellation and its undoing, billing-day change, suspension and resume), the scheduled changes
and new plan versions for existing subscribers.

Every service takes an explicit ``actor``, validates everything first (``ValidationFailed`` /
``Conflict`` naming the field; nothing is written), then writes in one database transaction: the
subscription row is locked, money goes to the ledger through ``ledger_operation_post`` (charges as
``charge`` with the product's VAT rate or the regime's default; credits of unused prepaid days as
``correction_credit``), the billed pieces are recorded in ``BilledPeriod`` (unique per
component and piece start: a re-run adds nothing), and an audit entry and a timeline entry are
written.

Actions take ``preview``: the preview returns exactly the items (charges and credits, with their
explanations) that applying would post, computed by the same pure quote
(:mod:`kopeck.core.subscriptions`). ``idempotency_key``: applying again with the same key returns
the first result and posts nothing.

The package, by seam: :mod:`.create`, :mod:`.billing` (what is due, after what takes effect),
:mod:`.actions` (the six actions on one skeleton), :mod:`.scheduled` (changes that take effect on a
date), :mod:`.posting` (the plan of posting a quote, and its one-by-one writer), :mod:`.common`.
"""

from kopeck.subscriptions.services.actions import (
    subscription_cancel,
    subscription_change_billing_day,
    subscription_change_plan,
    subscription_change_quantity,
    subscription_resume,
    subscription_suspend,
    subscription_uncancel,
)
from kopeck.subscriptions.services.billing import (
    BillResult,
    subscription_bill_due,
    subscriptions_bill_due_all,
)
from kopeck.subscriptions.services.common import RUNNING, ActionResult, subscription_state
from kopeck.subscriptions.services.create import subscription_create
from kopeck.subscriptions.services.posting import CREDIT_OPERATION, PostingPlan, plan_posting, post_plan

__all__ = [
    "CREDIT_OPERATION", "RUNNING", "ActionResult", "BillResult", "PostingPlan", "plan_posting", "post_plan",
    "subscription_bill_due",
    "subscription_cancel", "subscription_change_billing_day", "subscription_change_plan",
    "subscription_change_quantity", "subscription_create", "subscription_resume", "subscription_state",
    "subscription_suspend", "subscription_uncancel", "subscriptions_bill_due_all",
]
