"""Errors of the pricing core. Every error names the offending field or item when there is one."""

from __future__ import annotations


class PricingError(ValueError):
    """A pricing problem. ``field`` is the path of the offending field or item (``tiers[1].from``,
    ``readings[3]``, ``events[evt-17].properties.gb``) or ``None``; ``message`` says what is wrong."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "message": self.message}


class SpecError(PricingError):
    """An invalid component spec (rejected when it is built or parsed, never at billing time)."""


class UsageError(PricingError):
    """Invalid usage: a bad event, an impossible meter reading, usage of the wrong kind."""
