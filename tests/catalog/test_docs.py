"""The plan spec shown in docs/catalog.md is a valid plan and is the one of the OpenAPI examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

from kopeck.catalog.api import HOSTING_SPEC
from kopeck.core.pricing.plan import PlanSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"


def test_the_documented_spec_is_valid_and_matches_the_api_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- spec: [\w-]+ -->\n```json\n(.*?)```", text, re.S)
    assert len(blocks) == 1
    spec = json.loads(blocks[0])
    PlanSpec.from_dict(spec)
    assert spec == HOSTING_SPEC


def test_the_documented_endpoints_exist() -> None:
    from django.urls import resolve

    text = DOC.read_text(encoding="utf-8")
    paths = set(re.findall(r"`(?:GET|POST|PATCH) (/[\w{}/-]+)`", text))
    assert len(paths) >= 7
    for path in paths:
        url = "/api/v1" + path.replace("{id}", "1")
        assert resolve(url).func.__name__ != "api_not_found", url
