"""Conversion between Money and the integer minor units stored in the ledger: the core's one
conversion (:func:`kopeck.core.money.to_minor`), named here for the ledger's callers."""

from __future__ import annotations

from kopeck.core.money import from_minor, to_minor

__all__ = ["from_minor", "to_minor"]
