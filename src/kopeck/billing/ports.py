"""What billing runs need from the apps above them, as small ports.

Documents sit above billing in the layers (a run's documents are made from its items). A run
that posts asks for its documents through :class:`RunDocuments`, which ``kopeck.documents``
registers when Django starts (``DocumentsConfig.ready``); without it a run issues none.

Credit control sits above billing too: the subscriptions a block keeps out of billing come through
:func:`billing_holds`, which ``kopeck.credit`` registers."""

from __future__ import annotations

from collections.abc import Callable, Sized
from typing import TYPE_CHECKING, Protocol

from django.db.models import Q

from kopeck.common.actor import Actor

if TYPE_CHECKING:
    from kopeck.billing.models import BillingRun, RunItem


class RunDocuments(Protocol):
    def __call__(self, *, actor: Actor, run: BillingRun, clients: list[int] | None = None,
                 items: list[RunItem] | None = None, supplementary: bool = False) -> Sized:
        """Issue the run's documents (see ``kopeck.documents.services.documents_issue_for_run``);
        the documents issued."""


_issuer: RunDocuments | None = None


def register_run_documents(issuer: RunDocuments) -> None:
    global _issuer
    _issuer = issuer


def issue_run_documents(*, actor: Actor, run: BillingRun, clients: list[int] | None = None,
                        items: list[RunItem] | None = None, supplementary: bool = False) -> int:
    """How many documents the registered issuer issued (0 when none is registered)."""
    if _issuer is None:
        return 0
    return len(_issuer(actor=actor, run=run, clients=clients, items=items, supplementary=supplementary))


# -- billing holds: what blocks keep out of the billing run (kopeck.credit registers it) -------------

_holds: Callable[[], Q] | None = None


def register_billing_holds(holds: Callable[[], Q]) -> None:
    """``holds()`` is a filter of the subscriptions the billing run must leave out now (a blocked
    client or subscription whose block pauses billing)."""
    global _holds
    _holds = holds


def billing_holds() -> Q | None:
    return _holds() if _holds is not None else None
