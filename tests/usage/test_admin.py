"""The admin lists received events and readings, read-only, with filters."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.subscriptions.models import Subscription
from tests.usage.conftest import post

pytestmark = pytest.mark.django_db


def test_read_only_lists_with_filters(operator_as: Any, usage_api: Any, sub: Subscription) -> None:
    post(usage_api, "/api/v1/usage/events/", [{"id": "adm-1", "external_id": "sub-1", "metric": "api_calls",
                                               "timestamp": "2026-11-20T12:00:00+03:00"}])
    post(usage_api, "/api/v1/usage/readings/", [{"id": "rd-1", "external_id": "sub-1", "meter": "power",
                                                 "value": "5", "timestamp": "2026-11-20T12:00:00+03:00"}])
    admin = operator_as("administrator")
    r = admin.get("/admin/usage/usageevent/?metric=api_calls&q=adm-1")
    assert r.status_code == 200 and "adm-1" in r.content.decode()
    r = admin.get("/admin/usage/meterreading/?kind=normal&meter=power")
    assert r.status_code == 200 and "rd-1" in r.content.decode()
    assert admin.get("/admin/usage/usageevent/add/").status_code == 403
    assert operator_as("read_only").get("/admin/usage/meterreading/").status_code == 200
