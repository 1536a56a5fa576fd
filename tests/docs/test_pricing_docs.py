"""Every worked example in docs/pricing.md is a test: its input is priced and the figures shown checked.

An example is an ``<!-- example: name -->`` marker followed by two fenced ``json`` blocks: the
price-preview input and the expected figures, a subset of the answer (objects: the keys shown; lists:
every element, in order)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kopeck.catalog.preview import PreviewDefaults, price_preview
from kopeck.core.pricing import MODELS

DOC = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"
MARKER = re.compile(r"<!-- example: ([\w-]+) -->")
BLOCK = re.compile(r"```json\n(.*?)```", re.S)
# The examples name their VAT; periods are Moscow days. A VAT default that no example uses makes an
# example that forgot its VAT fail.
DEFAULTS = PreviewDefaults(vat_rate="5", prices_include_vat=False, time_zone="Europe/Moscow")


def examples() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    text = DOC.read_text(encoding="utf-8")
    parts = MARKER.split(text)
    found: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        blocks = BLOCK.findall(body)
        assert len(blocks) >= 2, f"example {name}: expected an input and an output json block"
        assert name not in found, f"example {name} appears twice"
        found[name] = (json.loads(blocks[0]), json.loads(blocks[1]))
    return found


EXAMPLES = examples()


def assert_subset(expected: Any, actual: Any, path: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key}: missing from the answer"
            assert_subset(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{path}: expected {len(expected)} items, got {actual!r}")
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: documented {expected!r}, computed {actual!r}"


def test_the_docs_have_an_example_of_every_model_and_the_meter_cases() -> None:
    assert len(EXAMPLES) >= len(MODELS) + 3
    models = set()
    for data, _ in EXAMPLES.values():
        if "component" in data:
            models.add(data["component"]["model"])
        else:
            models |= {p["model"] for c in data["plan"]["components"] for p in c["prices"].values()}
    assert models == set(MODELS)
    kinds = {r.get("kind", "normal") for data, _ in EXAMPLES.values() for r in data.get("readings", [])}
    assert kinds == {"normal", "rollover", "replacement"}
    assert {"meter-electricity", "meter-rollover", "meter-replacement"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_worked_example(name: str) -> None:
    data, expected = EXAMPLES[name]
    result = price_preview(data, DEFAULTS)
    assert {"amount", "vat"} <= set(expected), "an example shows at least the amount and the VAT"
    assert_subset(expected, result, name)
    # the answer is consistent: the amount is the sum of the line groups, VAT totals are sums of lines
    vat = result["vat"]
    assert sum(Decimal(v["amount"]) for v in vat["lines"]) == Decimal(result["amount"])
    for key in ("net", "vat", "gross"):
        assert sum(Decimal(v[key]) for v in vat["lines"]) == Decimal(vat[key])
    json.dumps(result)  # JSON-ready
