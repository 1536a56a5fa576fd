"""Writers of the catalog: products, plans and plan versions.

Every service validates all of its input first and raises ``ValidationFailed`` / ``Conflict``
without writing anything; then it writes in one transaction together with its audit entry.
A published plan version is never changed: a price change is a new version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from kopeck.audit.services import audit_record
from kopeck.catalog.models import (
    ExistingSubscribers,
    Plan,
    PlanVersion,
    Product,
    ProductVatRate,
    VersionStatus,
)
from kopeck.catalog.pricing_errors import pricing_message
from kopeck.catalog.selectors import plan_versions
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today, provider_zone
from kopeck.core.pricing.errors import PricingError
from kopeck.core.pricing.plan import PlanSpec

Errors = dict[str, list[str]]

# marked for extraction; translated where used: _(REQUIRED)
REQUIRED = gettext_noop("This field is required.")
IMMUTABLE = gettext_noop("This field cannot be changed.")
CODE_LENGTH = 50
NAME_LENGTH = 200
UNIT_LENGTH = 20
DESCRIPTION_LENGTH = 10_000


def _check_text(errors: Errors, data: Mapping[str, Any], key: str, *, max_length: int,
                required: bool = False) -> None:
    if key not in data:
        return
    value = data[key]
    if not isinstance(value, str):
        errors[key] = [_("Must be a string.")]
    elif required and not value.strip():
        errors[key] = [_(REQUIRED)]
    elif len(value.strip()) > max_length:
        errors[key] = [ngettext("At most %(count)d character.", "At most %(count)d characters.", max_length)
                       % {"count": max_length}]


def _check_bool(errors: Errors, data: Mapping[str, Any], key: str) -> None:
    if key in data and not isinstance(data[key], bool):
        errors[key] = [_("Must be true or false.")]


def _check_code(errors: Errors, code: object) -> None:
    if not isinstance(code, str) or not code.strip():
        errors["code"] = [_(REQUIRED)]
        return
    if len(code) > CODE_LENGTH:
        errors["code"] = [ngettext("At most %(count)d character.", "At most %(count)d characters.", CODE_LENGTH)
                          % {"count": CODE_LENGTH}]
        return
    try:
        validate_slug(code)
    except DjangoValidationError:
        errors["code"] = [_("Use latin letters, digits, '_' or '-'.")]


def _unchangeable(changes: Mapping[str, Any], updatable: tuple[str, ...]) -> Errors:
    return {key: [_(IMMUTABLE)] for key in changes if key not in updatable}


def _stripped(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.strip() if isinstance(v, str) and k != "description" else v for k, v in data.items()}


# -- products ------------------------------------------------------------------------------------

PRODUCT_UPDATABLE = ("name_ru", "name_en", "description", "vat_rate", "unit", "is_active")


def product_state(product: Product) -> dict[str, Any]:
    return {"code": product.code, "name_ru": product.name_ru, "name_en": product.name_en,
            "description": product.description, "vat_rate": product.vat_rate, "unit": product.unit,
            "is_active": product.is_active}


def product_errors(data: Mapping[str, Any]) -> Errors:
    """Problems of a product's attributes (only those present in ``data``), keyed by attribute."""
    errors: Errors = {}
    if "code" in data:
        _check_code(errors, data["code"])
    _check_text(errors, data, "name_ru", max_length=NAME_LENGTH, required=True)
    _check_text(errors, data, "name_en", max_length=NAME_LENGTH)
    _check_text(errors, data, "description", max_length=DESCRIPTION_LENGTH)
    _check_text(errors, data, "unit", max_length=UNIT_LENGTH, required=True)
    if "vat_rate" in data and data["vat_rate"] not in ProductVatRate.values:
        errors["vat_rate"] = [_("Choose one of: %(choices)s, or leave it blank for the default of the VAT regime.")
                              % {"choices": ", ".join(v for v in ProductVatRate.values if v)}]
    _check_bool(errors, data, "is_active")
    return errors


def _duplicate_product(code: str) -> Conflict:
    return Conflict(_("A product with code %(code)r already exists.") % {"code": code},
                    errors={"code": [_("Already used by another product.")]})


def product_create(
    *, actor: Actor, code: str, name_ru: str, name_en: str = "", description: str = "",
    vat_rate: str = ProductVatRate.REGIME_DEFAULT, unit: str = "шт", is_active: bool = True,
) -> Product:
    data: dict[str, Any] = {"code": code, "name_ru": name_ru, "name_en": name_en, "description": description,
            "vat_rate": vat_rate, "unit": unit, "is_active": is_active}
    errors = product_errors(data)
    if errors:
        raise ValidationFailed(_("The product has invalid data."), errors=errors)
    data = _stripped(data)
    if Product.objects.filter(code=data["code"]).exists():
        raise _duplicate_product(data["code"])
    now = clock.now()
    try:
        with transaction.atomic():
            product = Product.objects.create(**data, created_at=now, updated_at=now)
            audit_record(actor=actor, action="product.create", object_type="product", object_id=product.pk,
                         after=product_state(product))
    except IntegrityError as exc:
        raise _duplicate_product(data["code"]) from exc
    return product


def product_update(*, actor: Actor, product: Product, **changes: Any) -> Product:
    """Change a product's names, description, VAT rate, unit or activity (its code is permanent)."""
    errors = _unchangeable(changes, PRODUCT_UPDATABLE)
    errors.update(product_errors({k: v for k, v in changes.items() if k in PRODUCT_UPDATABLE}))
    if errors:
        raise ValidationFailed(_("The product has invalid data."), errors=errors)
    changes = _stripped(changes)
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        before = product_state(product)
        for key, value in changes.items():
            setattr(product, key, value)
        after = product_state(product)
        if after != before:
            product.updated_at = clock.now()
            product.save()
            audit_record(actor=actor, action="product.update", object_type="product", object_id=product.pk,
                         before=before, after=after)
    return product


# -- plans ---------------------------------------------------------------------------------------

PLAN_UPDATABLE = ("name_ru", "name_en", "is_active")


def plan_state(plan: Plan) -> dict[str, Any]:
    return {"product": plan.product.code, "code": plan.code, "name_ru": plan.name_ru, "name_en": plan.name_en,
            "is_active": plan.is_active}


def plan_errors(data: Mapping[str, Any]) -> Errors:
    """Problems of a plan's attributes (only those present in ``data``), keyed by attribute."""
    errors: Errors = {}
    if "product" in data:
        product = data["product"]
        if not isinstance(product, Product) or product.pk is None:
            errors["product"] = [_(REQUIRED)]
        elif not product.is_active:
            errors["product"] = [_("The product %(code)r is inactive: activate it first.") % {"code": product.code}]
    if "code" in data:
        _check_code(errors, data["code"])
    _check_text(errors, data, "name_ru", max_length=NAME_LENGTH, required=True)
    _check_text(errors, data, "name_en", max_length=NAME_LENGTH)
    _check_bool(errors, data, "is_active")
    return errors


def _duplicate_plan(code: str) -> Conflict:
    return Conflict(_("A plan with code %(code)r already exists.") % {"code": code},
                    errors={"code": [_("Already used by another plan.")]})


def plan_create(*, actor: Actor, product: Product, code: str, name_ru: str, name_en: str = "",
                is_active: bool = True) -> Plan:
    """A new plan of an active product. It has no prices until a version is created and published."""
    data: dict[str, Any] = {"product": product, "code": code, "name_ru": name_ru, "name_en": name_en, "is_active": is_active}
    errors = plan_errors(data)
    if errors:
        raise ValidationFailed(_("The plan has invalid data."), errors=errors)
    data = _stripped(data)
    if Plan.objects.filter(code=data["code"]).exists():
        raise _duplicate_plan(data["code"])
    try:
        with transaction.atomic():
            plan = Plan.objects.create(**data, created_at=clock.now())
            audit_record(actor=actor, action="plan.create", object_type="plan", object_id=plan.pk,
                         after=plan_state(plan))
    except IntegrityError as exc:
        raise _duplicate_plan(data["code"]) from exc
    return plan


def plan_update(*, actor: Actor, plan: Plan, **changes: Any) -> Plan:
    """Change a plan's names or activity (its product and code are permanent; prices are versions)."""
    errors = _unchangeable(changes, PLAN_UPDATABLE)
    errors.update(plan_errors({k: v for k, v in changes.items() if k in PLAN_UPDATABLE}))
    if errors:
        raise ValidationFailed(_("The plan has invalid data."), errors=errors)
    changes = _stripped(changes)
    with transaction.atomic():
        plan = Plan.objects.select_for_update(of=("self",)).select_related("product").get(pk=plan.pk)
        before = plan_state(plan)
        for key, value in changes.items():
            setattr(plan, key, value)
        after = plan_state(plan)
        if after != before:
            plan.save()
            audit_record(actor=actor, action="plan.update", object_type="plan", object_id=plan.pk,
                         before=before, after=after)
    return plan


# -- plan versions -------------------------------------------------------------------------------


def plan_version_state(version: PlanVersion, *, with_spec: bool = True) -> dict[str, Any]:
    state: dict[str, Any] = {
        "plan": version.plan.code, "number": version.number, "status": version.status,
        "effective_from": version.effective_from, "existing_subscribers": version.existing_subscribers,
    }
    if with_spec:
        state["spec"] = version.spec
    return state


def plan_spec_clean(plan: Plan, spec: object) -> tuple[dict[str, Any] | None, Errors]:
    """The canonical JSON form (``PlanSpec.to_dict()``) of ``spec`` for ``plan``, or the errors.

    A missing ``code`` is the plan's code; any other code is an error. Error fields are prefixed
    ``spec.``: ``spec.components[0].prices.RUB.tiers[1].from``."""
    if isinstance(spec, Mapping) and "code" not in spec:
        spec = {"code": plan.code, **spec}
    try:
        parsed = PlanSpec.from_dict(spec)
    except PricingError as exc:
        return None, {f"spec.{exc.field}" if exc.field else "spec": [pricing_message(exc)]}
    except (ValueError, TypeError, ArithmeticError) as exc:  # a shape the core does not name a field for
        return None, {"spec": [str(exc) or _("Invalid plan spec.")]}
    if parsed.code != plan.code:
        return None, {"spec.code": [_("must be the plan's code %(code)r, not %(given)r")
                                    % {"code": plan.code, "given": parsed.code}]}
    return parsed.to_dict(), {}


def _invalid_spec(errors: Errors) -> ValidationFailed:
    return ValidationFailed(_("The plan version has invalid prices."), errors=errors)


def _published_conflict(version: PlanVersion) -> Conflict:
    return Conflict(
        _("Version %(number)s of plan %(plan)r is published (effective from %(date)s); a published version is "
          "never changed: create a new version instead.")
        % {"number": version.number, "plan": version.plan.code, "date": version.effective_from},
        errors={"status": [_("Published versions cannot be changed.")]})


def plan_version_create(*, actor: Actor, plan: Plan, spec: Mapping[str, Any] | None = None,
                        copy_from: int | None = None) -> PlanVersion:
    """A new draft version of ``plan``, numbered after the plan's last version.

    Its prices are ``spec``, or a copy of version ``copy_from``, or (neither given) a copy of the
    plan's latest version (the highest number, draft or published)."""
    errors: Errors = {}
    if spec is not None and copy_from is not None:
        errors["copy_from"] = [_("Give either spec or copy_from, not both.")]
    elif spec is None:
        if copy_from is not None and (isinstance(copy_from, bool) or not isinstance(copy_from, int)):
            errors["copy_from"] = [_("Must be a version number.")]
        else:
            source = (plan_versions(plan) if copy_from is None else plan_versions(plan).filter(number=copy_from)).first()
            if source is None and copy_from is not None:
                errors["copy_from"] = [_("The plan has no version %(number)s.") % {"number": copy_from}]
            elif source is None:
                errors["spec"] = [_("This field is required. The plan has no version to copy the prices from.")]
            else:
                spec = source.spec
    canonical: dict[str, Any] | None = None
    if spec is not None and not errors:
        canonical, spec_errors = plan_spec_clean(plan, spec)
        errors.update(spec_errors)
    if errors or canonical is None:
        raise _invalid_spec(errors)
    try:
        with transaction.atomic():
            Plan.objects.select_for_update().filter(pk=plan.pk).first()  # numbers are assigned one at a time
            last = PlanVersion.objects.filter(plan=plan).aggregate(n=Max("number"))["n"] or 0
            version = PlanVersion.objects.create(
                plan=plan, number=last + 1, status=VersionStatus.DRAFT, spec=canonical,
                created_at=clock.now(), created_by=actor.label)
            audit_record(actor=actor, action="plan_version.create", object_type="plan_version",
                         object_id=version.pk, after=plan_version_state(version))
    except IntegrityError as exc:
        raise Conflict(_("Another version of this plan was created at the same time; try again.")) from exc
    return version


def plan_version_update(*, actor: Actor, version: PlanVersion, spec: Mapping[str, Any]) -> PlanVersion:
    """Replace the prices of a draft version. Published versions are refused (409)."""
    if version.status == VersionStatus.PUBLISHED:
        raise _published_conflict(version)
    canonical, errors = plan_spec_clean(version.plan, spec)
    if errors or canonical is None:
        raise _invalid_spec(errors)
    with transaction.atomic():
        locked = PlanVersion.objects.select_for_update(of=("self",)).select_related("plan").get(pk=version.pk)
        if locked.status == VersionStatus.PUBLISHED:
            raise _published_conflict(locked)
        if locked.spec != canonical:
            before = plan_version_state(locked)
            locked.spec = canonical
            locked.save(update_fields=["spec"])
            audit_record(actor=actor, action="plan_version.update", object_type="plan_version",
                         object_id=locked.pk, before=before, after=plan_version_state(locked))
    return locked


def plan_version_publish(
    *, actor: Actor, version: PlanVersion, effective_from: dt.date, existing_subscribers: str | None = None,
) -> PlanVersion:
    """Publish a draft: its prices apply from the provider-local date ``effective_from``.

    Refused: a date before today (prices never apply retroactively) or before the effective date of
    the plan's last published version; a version already published; a draft older than the last
    published version (versions are published in number order: copy it into a new version).
    ``existing_subscribers`` (next_period | immediately_prorated | new_subscribers_only) is required
    when the plan already has published prices; for the first version it defaults to next_period."""
    errors: Errors = {}
    today = provider_today()
    if not isinstance(effective_from, dt.date) or isinstance(effective_from, dt.datetime):
        errors["effective_from"] = [_("Must be a date (YYYY-MM-DD).")]
    elif effective_from < today:
        errors["effective_from"] = [
            _("%(date)s is in the past (today is %(today)s in %(zone)s): published prices never apply "
              "retroactively.") % {"date": effective_from.isoformat(), "today": today.isoformat(),
                                   "zone": provider_zone()}]
    if existing_subscribers is not None and existing_subscribers not in ExistingSubscribers.values:
        errors["existing_subscribers"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ExistingSubscribers.values)}]
    with transaction.atomic():
        Plan.objects.select_for_update().filter(pk=version.plan_id).first()  # one publication per plan at a time
        locked = PlanVersion.objects.select_for_update(of=("self",)).select_related("plan").get(pk=version.pk)
        if locked.status == VersionStatus.PUBLISHED:
            raise Conflict(_("Version %(number)s of plan %(plan)r is already published (effective from %(date)s).")
                           % {"number": locked.number, "plan": locked.plan.code, "date": locked.effective_from},
                           errors={"status": [_("Already published.")]})
        latest = (PlanVersion.objects.filter(plan_id=locked.plan_id, status=VersionStatus.PUBLISHED)
                  .order_by("-number").first())
        if latest is not None and latest.number > locked.number:
            raise Conflict(
                _("Version %(number)s was drafted before version %(latest)s was published; versions are "
                  "published in order: create a new version (copy_from %(number)s) and publish that.")
                % {"number": locked.number, "latest": latest.number},
                errors={"number": [_("Older than the published version %(latest)s.") % {"latest": latest.number}]})
        if latest is not None:
            assert latest.effective_from is not None
            if "effective_from" not in errors and effective_from < latest.effective_from:
                errors["effective_from"] = [
                    _("Version %(latest)s takes effect on %(date)s; a later version cannot take effect before it.")
                    % {"latest": latest.number, "date": latest.effective_from.isoformat()}]
            if existing_subscribers is None:
                errors["existing_subscribers"] = [
                    _("Required when the plan already has published prices: next_period, "
                    "immediately_prorated or new_subscribers_only.")]
        _spec, spec_errors = plan_spec_clean(locked.plan, locked.spec)
        errors.update(spec_errors)
        if errors:
            raise ValidationFailed(_("The version cannot be published."), errors=errors)
        before = plan_version_state(locked, with_spec=False)
        locked.status = VersionStatus.PUBLISHED
        locked.effective_from = effective_from
        locked.existing_subscribers = existing_subscribers or ExistingSubscribers.NEXT_PERIOD
        locked.published_at = clock.now()
        locked.published_by = actor.label
        locked.save(update_fields=["status", "effective_from", "existing_subscribers", "published_at",
                                   "published_by"])
        audit_record(actor=actor, action="plan_version.publish", object_type="plan_version", object_id=locked.pk,
                     before=before, after=plan_version_state(locked, with_spec=False))
    return locked
