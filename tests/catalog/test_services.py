"""Tests of the catalog services (kopeck.catalog.services): every write is validated first and audited;
every refusal writes nothing (the snapshot of the catalog tables and the audit log is unchanged)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from kopeck.audit.models import AuditEntry
from kopeck.catalog import services
from kopeck.catalog.models import (
    ExistingSubscribers,
    Plan,
    PlanVersion,
    Product,
    ProductVatRate,
    VersionStatus,
)
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, KopeckError, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.vat import VatRate
from tests.catalog.catalog_helpers import BAD_SPECS, hosting_spec, make_plan, make_product, snapshot

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)  # the clock fixture's date in Moscow


def refused(exc_type: type[KopeckError], call: Callable[[], Any]) -> KopeckError:
    """Run a call that must be refused and check that it wrote nothing."""
    before = snapshot()
    with pytest.raises(exc_type) as info:
        call()
    assert snapshot() == before
    return info.value


def test_vat_choices_are_the_core_rates_plus_the_regime_default() -> None:
    assert set(ProductVatRate.values) == {""} | {r.value for r in VatRate}


# -- products ------------------------------------------------------------------------------------


def test_product_create(clock: FixedClock, actor: Actor) -> None:
    product = services.product_create(actor=actor, code="vps", name_ru="  Виртуальный сервер ", name_en="VPS",
                                      description="Аренда", vat_rate="22", unit="мес")
    product.refresh_from_db()
    assert (product.code, product.name_ru, product.name_en, product.vat_rate, product.unit, product.is_active) == (
        "vps", "Виртуальный сервер", "VPS", "22", "мес", True)
    assert product.created_at == product.updated_at == clock.now()
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_type, entry.object_id) == ("product.create", "product", str(product.pk))
    assert entry.after["code"] == "vps"
    assert entry.after["vat_rate"] == "22"


def test_product_defaults(clock: FixedClock, actor: Actor) -> None:
    product = services.product_create(actor=actor, code="domain", name_ru="Домен")
    assert (product.vat_rate, product.unit, product.name_en, product.is_active) == ("", "шт", "", True)


@pytest.mark.parametrize(("changes", "field"), [
    ({"code": ""}, "code"),
    ({"code": "vps pro"}, "code"),
    ({"code": "x" * 51}, "code"),
    ({"name_ru": "  "}, "name_ru"),
    ({"name_en": "x" * 201}, "name_en"),
    ({"vat_rate": "20"}, "vat_rate"),
    ({"unit": ""}, "unit"),
    ({"unit": "x" * 21}, "unit"),
    ({"is_active": "yes"}, "is_active"),
    ({"description": 5}, "description"),
])
def test_product_create_refusals(clock: FixedClock, actor: Actor, changes: dict[str, Any], field: str) -> None:
    data = {"code": "vps", "name_ru": "Виртуальный сервер", **changes}
    exc = refused(ValidationFailed, lambda: services.product_create(actor=actor, **data))
    assert list(exc.errors) == [field]


def test_product_duplicate_code_is_a_conflict(clock: FixedClock, actor: Actor) -> None:
    make_product(actor, "vps")
    exc = refused(Conflict, lambda: make_product(actor, "vps"))
    assert exc.errors == {"code": ["Already used by another product."]}


def test_product_update(clock: FixedClock, actor: Actor) -> None:
    product = make_product(actor)
    clock.advance(dt.timedelta(hours=1))
    services.product_update(actor=actor, product=product, name_en="VPS", vat_rate="exempt", is_active=False)
    product.refresh_from_db()
    assert (product.name_en, product.vat_rate, product.is_active) == ("VPS", "exempt", False)
    assert product.updated_at == clock.now() != product.created_at
    entry = AuditEntry.objects.filter(action="product.update").get()
    assert entry.before["vat_rate"] == ""
    assert entry.after["vat_rate"] == "exempt"


def test_product_update_without_change_writes_nothing(clock: FixedClock, actor: Actor) -> None:
    product = make_product(actor)
    before = snapshot()
    services.product_update(actor=actor, product=product, name_ru=product.name_ru)
    assert snapshot() == before


@pytest.mark.parametrize(("changes", "field"), [
    ({"code": "other"}, "code"), ({"created_at": None}, "created_at"), ({"name_ru": ""}, "name_ru"),
    ({"vat_rate": "18"}, "vat_rate"),
])
def test_product_update_refusals(clock: FixedClock, actor: Actor, changes: dict[str, Any], field: str) -> None:
    product = make_product(actor)
    exc = refused(ValidationFailed, lambda: services.product_update(actor=actor, product=product, **changes))
    assert field in exc.errors


# -- plans ---------------------------------------------------------------------------------------


def test_plan_create(clock: FixedClock, actor: Actor) -> None:
    product = make_product(actor)
    plan = services.plan_create(actor=actor, product=product, code="vps-pro", name_ru="VPS Про", name_en="VPS Pro")
    plan.refresh_from_db()
    assert (plan.product, plan.code, plan.name_ru, plan.is_active, plan.created_at) == (
        product, "vps-pro", "VPS Про", True, clock.now())
    entry = AuditEntry.objects.get(action="plan.create")
    assert entry.after == {"product": "vps", "code": "vps-pro", "name_ru": "VPS Про", "name_en": "VPS Pro",
                           "is_active": True}


def test_plan_create_refusals(clock: FixedClock, actor: Actor) -> None:
    product = make_product(actor)
    inactive = make_product(actor, "old", is_active=False)
    make_plan(actor, "vps-pro", product)
    exc = refused(Conflict, lambda: make_plan(actor, "vps-pro", product))
    assert exc.errors == {"code": ["Already used by another plan."]}
    exc = refused(ValidationFailed, lambda: make_plan(actor, "old-plan", inactive))
    assert exc.errors == {"product": ["The product 'old' is inactive: activate it first."]}
    exc = refused(ValidationFailed, lambda: make_plan(actor, "bad code", product, name_ru=""))
    assert set(exc.errors) == {"code", "name_ru"}
    exc = refused(ValidationFailed, lambda: services.plan_create(actor=actor, product=Product(code="x"),
                                                                 code="p", name_ru="P"))
    assert set(exc.errors) == {"product"}


def test_plan_update(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    services.plan_update(actor=actor, plan=plan, name_ru="VPS Профи", is_active=False)
    plan.refresh_from_db()
    assert (plan.name_ru, plan.is_active) == ("VPS Профи", False)
    entry = AuditEntry.objects.get(action="plan.update")
    assert (entry.before["name_ru"], entry.after["name_ru"]) == ("VPS Про", "VPS Профи")


@pytest.mark.parametrize("changes", [{"code": "x"}, {"product": None}, {"name_ru": " "}, {"is_active": 1}])
def test_plan_update_refusals(clock: FixedClock, actor: Actor, changes: dict[str, Any]) -> None:
    plan = make_plan(actor)
    exc = refused(ValidationFailed, lambda: services.plan_update(actor=actor, plan=plan, **changes))
    assert set(exc.errors) == set(changes)


# -- versions: drafts ----------------------------------------------------------------------------


def test_version_create_stores_the_canonical_spec(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    version = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    version.refresh_from_db()
    assert (version.number, version.status, version.effective_from, version.existing_subscribers) == (
        1, VersionStatus.DRAFT, None, "")
    assert (version.created_at, version.created_by, version.published_at) == (clock.now(), "tests", None)
    assert version.spec == PlanSpec.from_dict(hosting_spec()).to_dict()
    assert PlanSpec.from_dict(version.spec).to_dict() == version.spec  # the stored form reads back as itself
    entry = AuditEntry.objects.get(action="plan_version.create")
    assert (entry.object_type, entry.object_id) == ("plan_version", str(version.pk))
    assert entry.after["spec"] == version.spec


def test_version_numbers_count_per_plan(clock: FixedClock, actor: Actor) -> None:
    product = make_product(actor)
    a, b = make_plan(actor, "vps-pro", product), make_plan(actor, "vps-max", product)
    numbers = [services.plan_version_create(actor=actor, plan=p, spec=hosting_spec(p.code)).number
               for p in (a, a, b, a)]
    assert numbers == [1, 2, 1, 3]


def test_version_spec_code_defaults_to_the_plan_and_must_match_it(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    spec = hosting_spec()
    del spec["code"]
    assert services.plan_version_create(actor=actor, plan=plan, spec=spec).spec["code"] == "vps-pro"
    exc = refused(ValidationFailed, lambda: services.plan_version_create(actor=actor, plan=plan,
                                                                         spec=hosting_spec("vps-max")))
    assert exc.errors == {"spec.code": ["must be the plan's code 'vps-pro', not 'vps-max'"]}


@pytest.mark.parametrize(("breaker", "field", "message"), BAD_SPECS)
def test_version_create_names_the_bad_field(clock: FixedClock, actor: Actor, breaker: Callable[[dict[str, Any]], None],
                                            field: str, message: str) -> None:
    plan = make_plan(actor)
    spec = hosting_spec()
    breaker(spec)
    exc = refused(ValidationFailed, lambda: services.plan_version_create(actor=actor, plan=plan, spec=spec))
    assert list(exc.errors) == [field]
    assert message in exc.errors[field][0]


@pytest.mark.parametrize(("spec", "field"), [
    ([], "spec"), ("vps", "spec"), ({"code": "vps-pro"}, "spec.billing_period"),
    ({**hosting_spec(), "colour": "red"}, "spec.colour"),
    ({**hosting_spec(), "currencies": [1.5]}, "spec.currencies[0]"),
])
def test_version_create_refuses_malformed_specs(clock: FixedClock, actor: Actor, spec: Any, field: str) -> None:
    plan = make_plan(actor)
    exc = refused(ValidationFailed, lambda: services.plan_version_create(actor=actor, plan=plan, spec=spec))
    assert list(exc.errors) == [field]


def test_version_create_copies_the_latest_or_a_chosen_version(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    v1 = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec(base_rub="1000.00"))
    v2 = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec(base_rub="2000.00"))
    v3 = services.plan_version_create(actor=actor, plan=plan)
    assert (v3.number, v3.spec) == (3, v2.spec)
    v4 = services.plan_version_create(actor=actor, plan=plan, copy_from=1)
    assert (v4.number, v4.spec) == (4, v1.spec)


def test_version_create_copy_refusals(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    exc = refused(ValidationFailed, lambda: services.plan_version_create(actor=actor, plan=plan))
    assert list(exc.errors) == ["spec"]
    services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    exc = refused(ValidationFailed, lambda: services.plan_version_create(actor=actor, plan=plan, copy_from=7))
    assert exc.errors == {"copy_from": ["The plan has no version 7."]}
    exc = refused(ValidationFailed, lambda: services.plan_version_create(actor=actor, plan=plan, copy_from=1,
                                                                         spec=hosting_spec()))
    assert list(exc.errors) == ["copy_from"]


def test_version_update_changes_a_draft(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    version = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    services.plan_version_update(actor=actor, version=version, spec=hosting_spec(base_rub="1590.00"))
    version.refresh_from_db()
    assert version.spec["components"][0]["prices"]["RUB"]["unit_price"] == "1590.00"
    entry = AuditEntry.objects.get(action="plan_version.update")
    assert entry.before["spec"]["components"][0]["prices"]["RUB"]["unit_price"] == "1490.00"
    before = snapshot()
    services.plan_version_update(actor=actor, version=version, spec=hosting_spec(base_rub="1590.00"))
    assert snapshot() == before  # the same prices again: nothing to write


@pytest.mark.parametrize(("breaker", "field", "message"), BAD_SPECS)
def test_version_update_refuses_bad_specs(clock: FixedClock, actor: Actor, breaker: Callable[[dict[str, Any]], None],
                                          field: str, message: str) -> None:
    plan = make_plan(actor)
    version = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    spec = hosting_spec()
    breaker(spec)
    exc = refused(ValidationFailed, lambda: services.plan_version_update(actor=actor, version=version, spec=spec))
    assert list(exc.errors) == [field]


# -- versions: publishing ------------------------------------------------------------------------


def published(actor: Actor, plan: Plan, effective_from: dt.date, policy: str | None = None,
              **spec: Any) -> PlanVersion:
    version = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec(plan.code, **spec))
    return services.plan_version_publish(actor=actor, version=version, effective_from=effective_from,
                                         existing_subscribers=policy)


def test_publish_first_version(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    clock.advance(dt.timedelta(minutes=5))
    version = services.plan_version_publish(actor=actor, version=draft, effective_from=TODAY)
    version.refresh_from_db()
    assert (version.status, version.effective_from, version.existing_subscribers) == (
        VersionStatus.PUBLISHED, TODAY, ExistingSubscribers.NEXT_PERIOD)
    assert (version.published_at, version.published_by) == (clock.now(), "tests")
    assert version.spec == draft.spec
    entry = AuditEntry.objects.get(action="plan_version.publish")
    assert entry.before == {"plan": "vps-pro", "number": 1, "status": "draft", "effective_from": None,
                            "existing_subscribers": ""}
    assert entry.after == {"plan": "vps-pro", "number": 1, "status": "published", "effective_from": "2026-11-25",
                           "existing_subscribers": "next_period"}


def test_publish_a_price_change(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    published(actor, plan, TODAY)
    v2 = published(actor, plan, dt.date(2027, 1, 1), ExistingSubscribers.IMMEDIATELY_PRORATED, base_rub="1690.00")
    assert (v2.number, v2.status, v2.existing_subscribers) == (2, "published", "immediately_prorated")
    v3 = published(actor, plan, dt.date(2027, 1, 1), ExistingSubscribers.NEW_SUBSCRIBERS_ONLY)
    assert v3.effective_from == v2.effective_from  # the same day is allowed: the later version supersedes


def test_publish_refuses_a_date_in_the_past(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    exc = refused(ValidationFailed, lambda: services.plan_version_publish(
        actor=actor, version=draft, effective_from=dt.date(2026, 11, 24)))
    assert exc.errors == {"effective_from": [
        "2026-11-24 is in the past (today is 2026-11-25 in Europe/Moscow): published prices never apply "
        "retroactively."]}


def test_publish_uses_the_provider_date_not_utc(actor: Actor) -> None:
    from kopeck.common import clock as clock_mod

    # 22:30 UTC on the 24th is already the 25th in Moscow: the 24th is in the past there.
    with clock_mod.use_clock(FixedClock(dt.datetime(2026, 11, 24, 22, 30, tzinfo=dt.UTC))):
        plan = make_plan(actor)
        draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
        refused(ValidationFailed, lambda: services.plan_version_publish(
            actor=actor, version=draft, effective_from=dt.date(2026, 11, 24)))
        assert services.plan_version_publish(actor=actor, version=draft, effective_from=TODAY).is_published


def test_publish_refuses_a_date_before_the_last_published_version(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    published(actor, plan, dt.date(2027, 1, 1))
    draft = services.plan_version_create(actor=actor, plan=plan)
    exc = refused(ValidationFailed, lambda: services.plan_version_publish(
        actor=actor, version=draft, effective_from=dt.date(2026, 12, 31), existing_subscribers="next_period"))
    assert exc.errors == {"effective_from": [
        "Version 1 takes effect on 2027-01-01; a later version cannot take effect before it."]}


def test_publish_requires_a_policy_once_prices_are_published(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    published(actor, plan, TODAY)
    draft = services.plan_version_create(actor=actor, plan=plan)
    exc = refused(ValidationFailed, lambda: services.plan_version_publish(
        actor=actor, version=draft, effective_from=dt.date(2027, 1, 1)))
    assert list(exc.errors) == ["existing_subscribers"]
    exc = refused(ValidationFailed, lambda: services.plan_version_publish(
        actor=actor, version=draft, effective_from=dt.date(2027, 1, 1), existing_subscribers="never"))
    assert list(exc.errors) == ["existing_subscribers"]


@pytest.mark.parametrize("bad", ["2027-01-01", dt.datetime(2027, 1, 1, tzinfo=dt.UTC), None])
def test_publish_needs_a_date(clock: FixedClock, actor: Actor, bad: Any) -> None:
    plan = make_plan(actor)
    draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    exc = refused(ValidationFailed, lambda: services.plan_version_publish(actor=actor, version=draft,
                                                                          effective_from=bad))
    assert exc.errors == {"effective_from": ["Must be a date (YYYY-MM-DD)."]}


def test_publish_twice_is_a_conflict(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    version = published(actor, plan, TODAY)
    exc = refused(Conflict, lambda: services.plan_version_publish(
        actor=actor, version=version, effective_from=dt.date(2027, 1, 1), existing_subscribers="next_period"))
    assert exc.errors == {"status": ["Already published."]}


def test_publish_refuses_a_draft_older_than_the_published_version(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    old_draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    newer = services.plan_version_create(actor=actor, plan=plan)
    services.plan_version_publish(actor=actor, version=newer, effective_from=TODAY)
    exc = refused(Conflict, lambda: services.plan_version_publish(
        actor=actor, version=old_draft, effective_from=dt.date(2027, 1, 1), existing_subscribers="next_period"))
    assert exc.errors == {"number": ["Older than the published version 2."]}


def test_publish_validates_the_stored_spec_again(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    broken = hosting_spec()
    broken["components"][2]["prices"]["RUB"]["tiers"][1]["from"] = "101"
    PlanVersion.objects.filter(pk=draft.pk).update(spec=broken)  # e.g. edited in the database by hand
    exc = refused(ValidationFailed, lambda: services.plan_version_publish(actor=actor, version=draft,
                                                                          effective_from=TODAY))
    assert list(exc.errors) == ["spec.components[2].prices.RUB.tiers[1].from"]


def test_a_published_version_is_never_changed(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    version = published(actor, plan, TODAY)
    exc = refused(Conflict, lambda: services.plan_version_update(actor=actor, version=version,
                                                                 spec=hosting_spec(base_rub="1.00")))
    assert exc.errors == {"status": ["Published versions cannot be changed."]}
    # A stale in-memory copy that still says "draft" is refused too (the row is checked under a lock).
    stale = PlanVersion.objects.get(pk=version.pk)
    stale.status = VersionStatus.DRAFT
    refused(Conflict, lambda: services.plan_version_update(actor=actor, version=stale,
                                                           spec=hosting_spec(base_rub="1.00")))


def test_the_database_refuses_a_published_version_without_a_date(clock: FixedClock, actor: Actor) -> None:
    from django.db import IntegrityError, transaction

    plan = make_plan(actor)
    draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanVersion.objects.filter(pk=draft.pk).update(status=VersionStatus.PUBLISHED)
