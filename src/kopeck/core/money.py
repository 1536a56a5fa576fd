"""Money: a Decimal amount with an ISO 4217 currency.

Rules:
* amounts are ``Decimal`` (or ``int``/``str`` converted exactly); ``float`` is refused;
* arithmetic between different currencies is refused;
* intermediate results keep full precision; rounding happens only where a caller names it
  (:meth:`Money.round_line`), to the currency's minor unit, half-up;
* :func:`allocate` splits an amount into parts that add up exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

# ISO 4217 minor units for the currencies Kopeck knows. Unknown codes are refused.
MINOR_UNITS: Final[dict[str, int]] = {
    "RUB": 2, "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CNY": 2, "KZT": 2, "BYN": 2, "UZS": 2,
    "AMD": 2, "AZN": 2, "GEL": 2, "KGS": 2, "TJS": 2, "TMT": 2, "MDL": 2, "UAH": 2, "TRY": 2,
    "AED": 2, "INR": 2, "CAD": 2, "AUD": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
    "HKD": 2, "SGD": 2, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "KWD": 3, "BHD": 3,
    "OMR": 3, "JOD": 3, "TND": 3,
}


class MoneyError(ValueError):
    """Invalid money: a float, an unknown currency, mixed currencies, a non-finite amount."""


class CurrencyMismatch(MoneyError):
    pass


@dataclass(frozen=True, slots=True)
class Currency:
    code: str
    minor_units: int

    @classmethod
    def of(cls, code: str | Currency) -> Currency:
        if isinstance(code, Currency):
            return code
        known = _CURRENCIES.get(code) if isinstance(code, str) else None
        if known is not None:
            return known
        if not isinstance(code, str):
            raise MoneyError(f"currency must be an ISO 4217 code, got {type(code).__name__}")
        norm = code.strip().upper()
        if norm not in MINOR_UNITS:
            raise MoneyError(f"unknown currency {code!r}")
        return _CURRENCIES[norm]

    @property
    def quantum(self) -> Decimal:
        return _QUANTA[self.minor_units]

    def __str__(self) -> str:
        return self.code


# One Currency per code (immutable, so shared), and the quantum of each minor-unit count.
_CURRENCIES: Final[dict[str, Currency]] = {code: Currency(code, units) for code, units in MINOR_UNITS.items()}
_QUANTA: Final[dict[int, Decimal]] = {units: Decimal(1).scaleb(-units) for units in set(MINOR_UNITS.values())}


def to_decimal(value: object) -> Decimal:
    """Convert an exact value to Decimal; refuse floats, booleans and non-finite numbers."""
    if isinstance(value, (bool, float)):
        raise MoneyError("floats are not accepted for money; pass a Decimal, int or string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation as exc:
            raise MoneyError(f"not a number: {value!r}") from exc
    else:
        raise MoneyError(f"cannot use {type(value).__name__} as an amount")
    if not result.is_finite():
        raise MoneyError("amount must be finite")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: Currency

    def __init__(self, amount: object, currency: str | Currency) -> None:
        object.__setattr__(self, "amount", to_decimal(amount))
        object.__setattr__(self, "currency", Currency.of(currency))

    @classmethod
    def _of(cls, amount: Decimal, currency: Currency) -> Money:
        """A Money from a Decimal already checked finite and a Currency (arithmetic results)."""
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    # construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str | Currency) -> Money:
        return cls(Decimal(0), currency)

    # comparison and arithmetic ------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} cannot be mixed")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money._of(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money._of(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, Money):
            raise MoneyError("cannot multiply money by money")
        return Money(self.amount * to_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: object) -> Money:
        if isinstance(divisor, Money):
            raise MoneyError("divide money by a number; use ratio() for money / money")
        d = to_decimal(divisor)
        if d == 0:
            raise MoneyError("division by zero")
        return Money(self.amount / d, self.currency)

    def ratio(self, other: Money) -> Decimal:
        self._same(other)
        if other.amount == 0:
            raise MoneyError("division by zero")
        return self.amount / other.amount

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def is_positive(self) -> bool:
        return self.amount > 0

    # rounding ----------------------------------------------------------------------------
    def round_line(self) -> Money:
        """Round to the currency's minor unit, half-up (away from zero on .5). The one rounding
        rule of Kopeck: applied once per line."""
        return Money._of(self.amount.quantize(self.currency.quantum, rounding=ROUND_HALF_UP), self.currency)

    def is_rounded(self) -> bool:
        return self.amount == self.amount.quantize(self.currency.quantum, rounding=ROUND_HALF_UP)

    def require_rounded(self) -> Money:
        if not self.is_rounded():
            raise MoneyError(
                f"{self.amount} has more than {self.currency.minor_units} decimal places for {self.currency}"
            )
        return self

    # presentation ------------------------------------------------------------------------
    def __str__(self) -> str:
        return f"{self.amount:.{self.currency.minor_units}f} {self.currency.code}" if self.is_rounded() else (
            f"{self.amount} {self.currency.code}"
        )

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency.code}')"

    def to_str(self) -> str:
        """The amount as a string with exactly the currency's minor units (after rounding)."""
        units = self.currency.minor_units
        return f"{self.amount.quantize(_QUANTA[units], rounding=ROUND_HALF_UP):.{units}f}"


def to_minor(money: Money) -> int:
    """The amount in whole minor units (kopecks, cents) — the one conversion Kopeck has: the ledger,
    billed periods, run items and documents store these. An amount with more decimals than the
    currency allows is refused (:class:`MoneyError`), never rounded or cut: round the line first."""
    money.require_rounded()
    return int(money.amount.scaleb(money.currency.minor_units))


def from_minor(units: int, currency: str | Currency) -> Money:
    """The amount of ``units`` minor units (:func:`to_minor` backwards)."""
    cur = Currency.of(currency)
    return Money(Decimal(units).scaleb(-cur.minor_units), cur)


def money_sum(items: Iterable[Money], currency: str | Currency) -> Money:
    total = Money.zero(currency)
    for item in items:
        total = total + item
    return total


def allocate(total: Money, ratios: Sequence[object]) -> list[Money]:
    """Split ``total`` (rounded to minor units) into parts proportional to ``ratios`` that add up
    exactly to it. Largest remainder method: each part is rounded down in minor units, then the
    leftover minor units go one by one to the parts with the largest remainders (ties: earlier part
    first). Negative totals are split symmetrically."""
    if not ratios:
        raise MoneyError("allocate needs at least one ratio")
    weights = [to_decimal(r) for r in ratios]
    if any(w < 0 for w in weights):
        raise MoneyError("ratios must not be negative")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        raise MoneyError("ratios must not all be zero")
    total.require_rounded()
    quantum = total.currency.quantum
    sign = -1 if total.amount < 0 else 1
    units = int((abs(total.amount) / quantum).to_integral_value())
    exact = [Decimal(units) * w / weight_sum for w in weights]
    floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
    leftover = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:leftover]:
        floors[i] += 1
    return [Money(Decimal(sign * f) * quantum, total.currency) for f in floors]
