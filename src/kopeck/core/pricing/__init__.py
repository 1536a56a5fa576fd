"""Pricing core: usage aggregation, charge models and the rating of a component.

Pure Python (stdlib + ``kopeck.core``), Decimal throughout, never float.

* Tiers follow ONE convention — ``[from, up_to)``, ``up_to`` exclusive, contiguous, first from 0,
  last open; units are numbered from 0 so tier ``[0, 100)`` holds the first 100 units; graduated
  models price the units inside each tier, volume and stairstep the tier of the last unit
  (``from < q ≤ up_to``). Details and validation: :mod:`kopeck.core.pricing.tiers`.
* Included units are subtracted first; the model prices the rest; a minimum tops the component up
  with its own line. Every line is rounded once (minor unit, half-up) and explains itself (ru/en +
  formula). Errors are :class:`PricingError` (``SpecError``, ``UsageError``) with ``.field``.

Main entry: ``evaluate(ComponentSpec.from_dict(json), Usage.of_quantity("1250"), "RUB") → Charge``.
"""

from kopeck.core.pricing.advance import split_in_advance
from kopeck.core.pricing.aggregation import AggregationResult, AggregationSpec, AggregationType, aggregate
from kopeck.core.pricing.component import ComponentSpec, evaluate, parse_component
from kopeck.core.pricing.errors import PricingError, SpecError, UsageError
from kopeck.core.pricing.lines import Charge, ChargeLine, LineKind
from kopeck.core.pricing.meter import MeterResult, MeterSegment, meter_consumption
from kopeck.core.pricing.models import (
    MODELS,
    ChargeModel,
    Graduated,
    GraduatedPercentage,
    Package,
    Percentage,
    Stairstep,
    Standard,
    TieredPackage,
    Volume,
)
from kopeck.core.pricing.tiers import PackageTier, PriceTier, RateTier, StairTier, validate_tiers
from kopeck.core.pricing.usage import MeterReading, ReadingKind, Usage, UsageEvent

__all__ = [
    "MODELS", "AggregationResult", "AggregationSpec", "AggregationType", "Charge", "ChargeLine",
    "ChargeModel", "ComponentSpec", "Graduated", "GraduatedPercentage", "LineKind", "MeterReading",
    "MeterResult", "MeterSegment", "Package", "PackageTier", "Percentage", "PriceTier", "PricingError",
    "RateTier", "ReadingKind", "SpecError", "StairTier", "Stairstep", "Standard", "TieredPackage", "Usage",
    "UsageError", "UsageEvent", "Volume", "aggregate", "evaluate", "meter_consumption", "parse_component",
    "split_in_advance", "validate_tiers",
]
