"""Readers of the catalog: products, plans, and which version of a plan's prices is in force."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from kopeck.catalog.models import Plan, PlanVersion, Product, VersionStatus
from kopeck.configuration.selectors import provider_today
from kopeck.core.pricing.plan import PlanSpec


def product_list(*, is_active: bool | None = None, vat_rate: str | None = None,
                 search: str | None = None) -> QuerySet[Product]:
    qs = Product.objects.all()
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    if vat_rate is not None:
        qs = qs.filter(vat_rate=vat_rate)
    if search and search.strip():
        term = search.strip()
        qs = qs.filter(Q(code__icontains=term) | Q(name_ru__icontains=term) | Q(name_en__icontains=term))
    return qs.order_by("code", "id")


def plan_list(*, product_id: int | None = None, product_code: str | None = None,
              is_active: bool | None = None) -> QuerySet[Plan]:
    """Plans with their versions prefetched (without the specs), newest version first."""
    qs = Plan.objects.select_related("product").prefetch_related(
        Prefetch("versions", queryset=PlanVersion.objects.defer("spec").order_by("-number")))
    if product_id is not None:
        qs = qs.filter(product_id=product_id)
    if product_code:
        qs = qs.filter(product__code=product_code)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("code", "id")


def plan_versions(plan: Plan) -> QuerySet[PlanVersion]:
    """Every version of ``plan`` (drafts and published), newest first."""
    return PlanVersion.objects.filter(plan=plan).order_by("-number")


def latest_published_version(plan: Plan) -> PlanVersion | None:
    """The published version with the highest number (the last one published)."""
    return PlanVersion.objects.filter(plan=plan, status=VersionStatus.PUBLISHED).order_by("-number").first()


def plan_version_in_force(plan: Plan, on: dt.date | None = None) -> PlanVersion | None:
    """The version whose prices apply on the provider-local date ``on`` (default: today): the latest
    published version with ``effective_from <= on``, or None before the first one takes effect.

    Versions are published in number order with non-decreasing effective dates, so "latest" is the
    highest number; of two versions effective the same day, the later published one wins."""
    day = provider_today() if on is None else on
    return (PlanVersion.objects.filter(plan=plan, status=VersionStatus.PUBLISHED, effective_from__lte=day)
            .order_by("-number").first())


def in_force_among(versions: list[PlanVersion], on: dt.date) -> PlanVersion | None:
    """:func:`plan_version_in_force` over already loaded versions (no query)."""
    candidates = [v for v in versions if v.status == VersionStatus.PUBLISHED
                  and v.effective_from is not None and v.effective_from <= on]
    return max(candidates, key=lambda v: v.number, default=None)


@dataclass(frozen=True, slots=True)
class PriceSpan:
    """A published version and the days its prices apply: ``[effective_from, effective_until)``;
    ``effective_until`` is None while no later version is published. A span that is empty
    (``effective_from == effective_until``) was superseded before it took effect."""

    version: PlanVersion
    effective_from: dt.date
    effective_until: dt.date | None


def plan_price_history(plan: Plan, versions: list[PlanVersion] | None = None) -> list[PriceSpan]:
    """The timeline of a plan's published prices, oldest first."""
    loaded = versions if versions is not None else list(plan_versions(plan).defer("spec"))
    published = sorted((v for v in loaded if v.status == VersionStatus.PUBLISHED and v.effective_from),
                       key=lambda v: v.number)
    spans = []
    for i, version in enumerate(published):
        assert version.effective_from is not None
        until = published[i + 1].effective_from if i + 1 < len(published) else None
        spans.append(PriceSpan(version, version.effective_from, until))
    return spans


def version_plan_spec(version: PlanVersion) -> PlanSpec:
    """The version's prices as a :class:`PlanSpec` (stored specs were validated when written)."""
    return PlanSpec.from_dict(version.spec)
