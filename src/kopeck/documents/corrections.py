"""The data of a корректировочный счёт-фактура: each line before (А) and after (Б) the change, and
the increase (В) or decrease (Г) of its value without VAT, VAT and value with VAT; the totals of
the increases and decreases are the sums of the lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kopeck.core.documents import DocumentCalc, correction_lines
from kopeck.core.money import money_sum


def correction_data(before: DocumentCalc, after: DocumentCalc, *, original: Mapping[str, Any]) -> dict[str, Any]:
    lines = correction_lines(before.lines, after.lines)
    cur = after.currency
    totals = {
        side: {key: money_sum((getattr(ln, side)[key] for ln in lines), cur).to_str() for key in ("net", "vat", "gross")}
        for side in ("increase", "decrease")
    }
    return {"original": dict(original), "lines": [ln.as_dict() for ln in lines],
            "total_increase": totals["increase"], "total_decrease": totals["decrease"],
            "before_totals": before.totals.as_dict(), "after_totals": after.totals.as_dict()}
