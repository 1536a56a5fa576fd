"""Bilingual explanations attached to every computed amount."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Explanation:
    """How an amount was obtained, in Russian and English, plus the formula with its numbers."""

    ru: str
    en: str
    formula: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"ru": self.ru, "en": self.en, "formula": self.formula}
