"""Who performs a write: an operator, an API key, or the system. Passed explicitly to services."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ActorKind(StrEnum):
    OPERATOR = "operator"
    API_KEY = "api_key"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str
    label: str

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, "", label)

    def __str__(self) -> str:
        return f"{self.kind}:{self.label}"
