"""Write side of the subscriptions API: create, each action previewed then applied (the applied
items are the previewed ones, and the ledger holds them), refusals as problem+json that write
nothing, read keys may preview only, Idempotency-Key. Amounts as in test_actions.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.catalog.models import PlanVersion
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.ledger.amounts import from_minor
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import ScheduledChange, ScheduledChangeStatus, Subscription, TimelineEntry
from tests.factories import ClientFactory
from tests.subscriptions.helpers import at, counts, item_amounts, make_client, make_plan

pytestmark = pytest.mark.django_db
D = dt.date
URL = "/api/v1/subscriptions/"
PROBLEM = "application/problem+json"


@pytest.fixture
def plans(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 1, 1))
    make_plan(actor, clock, "mini", base="500.00")
    make_plan(actor, clock, "basic", base="1000.00")
    make_plan(actor, clock, "pro", base="3100.00")


def post(api: APIClient, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    return api.post(path, body or {}, format="json", headers=headers or None)


def ledger_of(ids: list[int]) -> list[tuple[str, str]]:
    txns = JournalTransaction.objects.filter(pk__in=ids).order_by("id")
    assert [t.pk for t in txns] == ids
    return [(t.operation, from_minor(t.amount_minor, t.currency).to_str()) for t in txns]


def expected_ledger(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Charges post as ``charge``, credits as ``correction_credit``; a zero charge posts nothing."""
    return [("charge" if i["kind"] == "charge" else "correction_credit", i["amount"]) for i in items
            if i["amount"] not in ("0", "0.00")]


def both(api: APIClient, sub_id: int, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Preview (writes nothing), then apply: the applied items are the previewed ones and each posted
    amount is in the ledger."""
    before = counts()
    preview = post(api, f"{URL}{sub_id}/{action}/preview/", body)
    assert preview.status_code == 200, preview.json()
    assert counts() == before
    p = preview.json()
    assert (p["preview"], p["transaction_ids"]) == (True, [])
    applied = post(api, f"{URL}{sub_id}/{action}/", body)
    assert applied.status_code == 200, applied.json()
    a = applied.json()
    assert a["preview"] is False
    assert a["items"] == p["items"]
    assert (a["action"], a["effective_date"], a["status"], a["total"]) == (
        p["action"], p["effective_date"], p["status"], p["total"])
    assert ledger_of(a["transaction_ids"]) == expected_ledger(a["items"])
    return a


def create(api: APIClient, plan: str | None = "basic", **body: Any) -> Any:
    body.setdefault("client", make_client().pk)
    return post(api, URL, {**({"plan": plan} if plan else {}), **body})


def start(api: APIClient, plan: str = "basic", **body: Any) -> int:
    """Subscribe today and bill the first period through the API."""
    r = create(api, plan, **body)
    assert r.status_code == 201, r.json()
    sub_id: int = r.json()["id"]
    both(api, sub_id, "bill")
    return sub_id


def problem_fields(r: Any, status: int) -> set[str]:
    assert r.status_code == status, r.json()
    assert r["Content-Type"] == PROBLEM
    return {e["field"] for e in r.json().get("errors", [])}


# -- create ---------------------------------------------------------------------------------------


def test_create_then_bill(api: APIClient, clock: FixedClock, plans: None) -> None:
    client = make_client()
    r = create(api, "basic", client=client.pk, quantity=2, external_id="crm-7")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["client"], body["plan_code"], body["quantity"], body["status"], body["start_date"],
            body["external_id"]) == (client.pk, "basic", 2, "active", "2027-01-01", "crm-7")
    bill = both(api, body["id"], "bill")
    assert item_amounts(bill["items"]) == [("charge", "base", "1000.00"), ("charge", "seats", "600.00")]
    assert (bill["action"], bill["effective_date"], bill["total"]) == ("bill", "2027-01-01", "1600.00")
    assert ledger_of(bill["transaction_ids"]) == [("charge", "1000.00"), ("charge", "600.00")]
    again = post(api, f"{URL}{body['id']}/bill/").json()  # billing again posts nothing
    assert (again["items"], again["transaction_ids"], again["total"]) == ([], [], "0.00")


def test_create_calendar_with_a_version_id(api: APIClient, clock: FixedClock, plans: None) -> None:
    version = PlanVersion.objects.get(plan__code="pro")
    r = create(api, None, plan_version=version.pk, anchor_kind="calendar", billing_day=10, no_trial=True,
               start_date="2027-01-05", discount_percent="10")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["plan_code"], body["plan_version"], body["anchor_kind"], body["billing_day"],
            body["discount_percent"]) == ("pro", version.pk, "calendar", 10, "10.00")


def test_create_in_the_future_is_pending_and_bills_nothing(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = create(api, "basic", start_date="2027-02-01").json()["id"]
    result = both(api, sub_id, "bill")
    assert (result["status"], result["items"]) == ("pending", [])


@pytest.mark.parametrize(("body", "field"), [
    ({"plan": "nope"}, "plan"),
    ({"plan": None}, "plan"),
    ({"quantity": 0}, "quantity"),
    ({"currency": "USD"}, "currency"),
    ({"currency": "XXQ"}, "currency"),
    ({"client": 999_999}, "client"),
    ({"plan_version": 999_999}, "plan_version"),
    ({"anchor_kind": "calendar", "billing_day": 32}, "billing_day"),
    ({"billing_day": 5}, "billing_day"),
    ({"start_date": "2027-13-01"}, "start_date"),
    ({"trial_end": "2026-12-01"}, "trial_end"),
    ({"fixed_price": "10.001"}, "fixed_price"),
])
def test_create_refusals_write_nothing(api: APIClient, clock: FixedClock, plans: None, body: dict[str, Any],
                                       field: str) -> None:
    client = make_client()
    before = counts()
    payload = {"client": client.pk, "plan": "basic", **body}
    if payload["plan"] is None:
        del payload["plan"]
    r = post(api, URL, payload)
    assert field in problem_fields(r, 400)
    assert counts() == before


def test_duplicate_external_id_is_refused(api: APIClient, clock: FixedClock, plans: None) -> None:
    assert create(api, "basic", external_id="crm-1").status_code == 201
    before = counts()
    assert "external_id" in problem_fields(create(api, "basic", external_id="crm-1"), 400)
    assert counts() == before


# -- actions: preview, then apply ----------------------------------------------------------------


def test_upgrade_on_the_last_day(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 31))
    result = both(api, sub_id, "change-plan", {"plan": "pro"})
    # 1 of 31 days: credit 1000 × 1/31 = 32.26; charge 3100 × 1/31 = 100.00; seats carried over
    assert result["action"] == "upgrade"
    assert item_amounts(result["items"]) == [("credit", "base", "32.26"), ("charge", "base", "100.00")]
    assert result["total"] == "67.74"
    assert Subscription.objects.get(pk=sub_id).plan.code == "pro"


def test_downgrade_is_scheduled(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "pro")
    at(clock, D(2027, 1, 10))
    result = both(api, sub_id, "change-plan", {"plan": "basic"})
    assert (result["action"], result["items"], result["effective_date"]) == ("downgrade", [], "2027-02-01")
    change = ScheduledChange.objects.get(subscription_id=sub_id)
    assert (result["scheduled_change_id"], change.status) == (change.pk, ScheduledChangeStatus.PENDING)
    scheduled = api.get(f"{URL}{sub_id}/scheduled-changes/").json()
    assert [(c["id"], c["kind"]) for c in scheduled] == [(change.pk, "change_plan")]


def test_immediate_downgrade_with_quantity(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "pro")
    at(clock, D(2027, 1, 22))
    result = both(api, sub_id, "change-plan", {"plan": "basic", "timing": "immediate", "quantity": 2})
    # 10 of 31 days: credit 3100 × 10/31 = 1000.00, 300 × 10/31 = 96.77; charge 1000 × 10/31 = 322.58,
    # 600 × 10/31 = 193.55
    assert sorted(item_amounts(result["items"])) == [
        ("charge", "base", "322.58"), ("charge", "seats", "193.55"),
        ("credit", "base", "1000.00"), ("credit", "seats", "96.77")]
    sub = Subscription.objects.get(pk=sub_id)
    assert (sub.plan.code, sub.quantity) == ("basic", 2)


def test_change_quantity(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 11))
    result = both(api, sub_id, "change-quantity", {"quantity": 3})
    # 21 of 31 days: credit 300 × 21/31 = 203.23; charge 900 × 21/31 = 609.68
    assert item_amounts(result["items"]) == [("credit", "seats", "203.23"), ("charge", "seats", "609.68")]
    assert Subscription.objects.get(pk=sub_id).quantity == 3


def test_cancel_now(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 22))
    result = both(api, sub_id, "cancel", {"at_period_end": False})
    # 10 of 31 days unused: 322.58 and 96.77
    assert item_amounts(result["items"]) == [("credit", "base", "322.58"), ("credit", "seats", "96.77")]
    assert (result["status"], result["total"]) == ("ended", "-419.35")
    assert Subscription.objects.get(pk=sub_id).status == "ended"


def test_cancel_at_period_end_then_uncancel(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 15))
    cancelled = both(api, sub_id, "cancel")  # at_period_end defaults to true
    assert (cancelled["items"], cancelled["status"], cancelled["effective_date"]) == ([], "cancelling", "2027-02-01")
    assert cancelled["scheduled_change_id"] is not None
    at(clock, D(2027, 1, 20))
    undone = both(api, sub_id, "uncancel")
    assert (undone["items"], undone["status"]) == ([], "active")
    sub = Subscription.objects.get(pk=sub_id)
    assert (sub.status, sub.end_date) == ("active", None)


def test_change_billing_day(api: APIClient, clock: FixedClock, plans: None) -> None:
    at(clock, D(2027, 1, 10))
    later = start(api, "basic")  # anniversary on the 10th
    now = start(api, "basic")
    at(clock, D(2027, 1, 20))
    scheduled = both(api, later, "change-billing-day", {"billing_day": 1})
    assert (scheduled["items"], scheduled["effective_date"]) == ([], "2027-02-10")
    assert scheduled["scheduled_change_id"] is not None
    immediate = both(api, now, "change-billing-day", {"billing_day": 1, "at_period_end": False})
    # from Jan 20: the prepaid [Jan 10, Feb 10) is credited for 21 of 31 days and the bridge
    # [Jan 20, Feb 1) charged: 12 of January's 31 days
    assert item_amounts(immediate["items"]) == [
        ("credit", "base", "677.42"), ("credit", "seats", "203.23"),
        ("charge", "base", "387.10"), ("charge", "seats", "116.13")]
    sub = Subscription.objects.get(pk=now)
    assert (sub.anchor_kind, sub.billing_day) == ("calendar", 1)


def test_suspend_paused_then_resume(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 22))
    paused = both(api, sub_id, "suspend")  # billing_continues defaults to false
    assert item_amounts(paused["items"]) == [("credit", "base", "322.58"), ("credit", "seats", "96.77")]
    at(clock, D(2027, 2, 1))
    assert both(api, sub_id, "bill")["items"] == []  # paused
    at(clock, D(2027, 2, 15))
    resumed = both(api, sub_id, "resume")
    # [Feb 15, Mar 1) = 14 of 28 days: 500.00 and 150.00
    assert item_amounts(resumed["items"]) == [("charge", "base", "500.00"), ("charge", "seats", "150.00")]
    assert resumed["status"] == "active"


def test_suspend_with_billing_continuing(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 22))
    assert both(api, sub_id, "suspend", {"billing_continues": True})["items"] == []
    at(clock, D(2027, 2, 1))
    assert item_amounts(both(api, sub_id, "bill")["items"]) == [("charge", "base", "1000.00"),
                                                                 ("charge", "seats", "300.00")]


def test_bill_up_to_a_past_day(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = create(api, "basic", start_date="2026-11-01").json()["id"]  # backdated
    result = both(api, sub_id, "bill", {"on": "2026-12-15"})
    assert [(i["period"]["start"], i["amount"]) for i in result["items"]] == [
        ("2026-11-01", "1000.00"), ("2026-11-01", "300.00"), ("2026-12-01", "1000.00"), ("2026-12-01", "300.00")]
    assert item_amounts(both(api, sub_id, "bill")["items"]) == [("charge", "base", "1000.00"),
                                                                 ("charge", "seats", "300.00")]


# -- refusals ------------------------------------------------------------------------------------


def refused(api: APIClient, sub_id: int, action: str, body: dict[str, Any] | None, status: int) -> set[str]:
    """Refused alike as a preview and applied; nothing written either way."""
    before = counts()
    fields = problem_fields(post(api, f"{URL}{sub_id}/{action}/preview/", body), status)
    assert problem_fields(post(api, f"{URL}{sub_id}/{action}/", body), status) == fields
    assert counts() == before
    return fields


def test_actions_not_allowed_in_the_status_are_409(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 10))
    assert "status" in refused(api, sub_id, "uncancel", None, 409)  # not cancelling
    assert "status" in refused(api, sub_id, "resume", None, 409)  # not suspended
    assert "quantity" in refused(api, sub_id, "change-quantity", {"quantity": 1}, 409)  # nothing to change
    assert "plan" in refused(api, sub_id, "change-plan", {"plan": "basic"}, 409)
    r = post(api, f"{URL}{sub_id}/uncancel/")
    assert r.json()["type"] == "urn:kopeck:problem:conflict"
    both(api, sub_id, "cancel", {"at_period_end": False})
    for action, body in (("cancel", {"at_period_end": False}), ("change-plan", {"plan": "pro"}),
                         ("change-quantity", {"quantity": 2}), ("suspend", None), ("resume", None),
                         ("change-billing-day", {"billing_day": 1})):
        assert "status" in refused(api, sub_id, action, body, 409), action


def test_invalid_action_input_is_400(api: APIClient, clock: FixedClock, plans: None, actor: Actor) -> None:
    sub_id = start(api, "basic")
    make_plan(actor, clock, "usd-only", currencies=("USD",))
    at(clock, D(2027, 1, 10))
    assert refused(api, sub_id, "change-quantity", {"quantity": 0}, 400) == {"quantity"}
    assert refused(api, sub_id, "change-quantity", {}, 400) == {"quantity"}
    assert refused(api, sub_id, "change-plan", {"plan": "nope"}, 400) == {"plan"}
    assert refused(api, sub_id, "change-plan", {"plan": "pro", "timing": "later"}, 400) == {"timing"}
    assert refused(api, sub_id, "change-plan", {"plan_version": 999_999}, 400) == {"plan_version"}
    assert refused(api, sub_id, "change-plan", {"plan": "usd-only"}, 400) == {"currency"}
    assert refused(api, sub_id, "change-billing-day", {"billing_day": 32}, 400) == {"billing_day"}
    assert refused(api, sub_id, "cancel", {"at_period_end": "maybe"}, 400) == {"at_period_end"}
    assert refused(api, sub_id, "bill", {"on": "2027-01-11"}, 400) == {"on"}  # after today


def test_unknown_subscription_is_404(api: APIClient, clock: FixedClock, plans: None) -> None:
    before = counts()
    for path in ("cancel/", "cancel/preview/", "bill/", "bill/preview/"):
        assert problem_fields(post(api, f"{URL}999999/{path}"), 404) == set()
    assert counts() == before


# -- access --------------------------------------------------------------------------------------


def test_a_read_key_may_preview_but_not_apply(api: APIClient, api_as: Callable[..., APIClient], clock: FixedClock,
                                              plans: None) -> None:
    sub_id = start(api, "basic")
    reader, outsider = api_as("subscriptions:read"), api_as("clients:write")
    at(clock, D(2027, 1, 11))
    before = counts()
    for action, body in (("change-quantity", {"quantity": 3}), ("cancel", {"at_period_end": False}),
                         ("suspend", None), ("change-plan", {"plan": "pro"}), ("bill", None),
                         ("change-billing-day", {"billing_day": 1})):
        assert post(reader, f"{URL}{sub_id}/{action}/preview/", body).status_code == 200, action
        assert problem_fields(post(reader, f"{URL}{sub_id}/{action}/", body), 403) == set()
        assert problem_fields(post(outsider, f"{URL}{sub_id}/{action}/preview/", body), 403) == set()
    assert problem_fields(post(reader, URL, {"client": make_client().pk, "plan": "basic"}), 403) == set()
    assert counts() == before


# -- Idempotency-Key -----------------------------------------------------------------------------


def test_the_same_idempotency_key_posts_once(api: APIClient, clock: FixedClock, plans: None) -> None:
    sub_id = start(api, "basic")
    at(clock, D(2027, 1, 22))
    path = f"{URL}{sub_id}/cancel/"
    first = post(api, path, {"at_period_end": False}, **{"Idempotency-Key": "cancel-1"})
    assert first.status_code == 200
    before = counts()
    again = post(api, path, {"at_period_end": False}, **{"Idempotency-Key": "cancel-1"})
    assert (again.status_code, again["Idempotent-Replayed"], again.json()) == (200, "true", first.json())
    assert counts() == before
    assert ledger_of(first.json()["transaction_ids"]) == [("correction_credit", "322.58"),
                                                         ("correction_credit", "96.77")]
    # the key reached the service too, scoped to the caller (another API key's "cancel-1" is another key)
    entry = TimelineEntry.objects.get(subscription_id=sub_id, kind="cancel")
    assert entry.data["idempotency_key"].endswith(":cancel-1")
    assert entry.data["idempotency_key"].startswith("api_key:")
    # the same key on another action: refused, nothing done
    reused = post(api, f"{URL}{sub_id}/uncancel/", None, **{"Idempotency-Key": "cancel-1"})
    assert reused.status_code == 422
    assert counts() == before


def test_the_same_key_for_a_create_creates_once(api: APIClient, clock: FixedClock, plans: None) -> None:
    client = ClientFactory()
    body = {"client": client.pk, "plan": "basic"}
    first = post(api, URL, body, **{"Idempotency-Key": "sub-1"})
    again = post(api, URL, body, **{"Idempotency-Key": "sub-1"})
    assert (first.status_code, again.status_code, again.json()["id"]) == (201, 201, first.json()["id"])
    assert Subscription.objects.filter(client=client).count() == 1


@pytest.mark.parametrize("path", ["change-quantity/preview", "change-quantity"])
def test_a_quantity_beyond_the_limit_is_refused(api: APIClient, clock: FixedClock, plans: None, path: str) -> None:
    """Schemathesis found 329376684289757210802726633472 seats answered with a 500."""
    sub_id = start(api, "basic")
    before = counts()
    response = api.post(f"/api/v1/subscriptions/{sub_id}/{path}/", {"quantity": 1_000_001}, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["quantity"]
    assert counts() == before
    assert Subscription.objects.get(pk=sub_id).quantity == 1


def test_three_quantity_changes_in_one_period(api: APIClient, clock: FixedClock, plans: None) -> None:
    """Hypothesis found it: the second change in a period carried the base fee over twice (from the
    piece that was paid and from the first change's marker) and answered a 500. The seats net to
    the days priced piece by piece; the base fee is untouched."""
    sub_id = start(api, "basic")
    steps = [(D(2027, 1, 11), 3, [("credit", "seats", "203.23"), ("charge", "seats", "609.68")]),
             (D(2027, 1, 21), 2, [("credit", "seats", "319.36"), ("charge", "seats", "212.90")]),
             (D(2027, 1, 25), 4, [("credit", "seats", "135.48"), ("charge", "seats", "270.97")])]
    for day, quantity, items in steps:
        at(clock, day)
        assert item_amounts(both(api, sub_id, "change-quantity", {"quantity": quantity})["items"]) == items
    sub = Subscription.objects.get(pk=sub_id)
    seats = sum(b.amount_minor - b.credited_minor for b in sub.billed_periods.filter(component="seats"))
    # 300 × 10/31 + 900 × 10/31 + 600 × 4/31 + 1200 × 7/31 = 96.77 + 290.32 + 77.42 + 270.97
    assert seats == 73548
    assert sorted((b.period_start.day, b.amount_minor) for b in sub.billed_periods.filter(component="base")) == [
        (1, 100000), (11, 0), (21, 0), (25, 0)]
