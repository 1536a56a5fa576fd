import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.periods import BillingInterval, Period, PeriodError, PeriodUnit, anniversary_cycle
from kopeck.core.proration import period_fraction, prorate, round_half_up, split_by_days

D = dt.date


def rub(x: str) -> Money:
    return Money(x, "RUB")


def test_fraction_uses_the_actual_month_length() -> None:
    jan = Period(D(2024, 1, 1), D(2024, 2, 1))
    assert period_fraction(Period(D(2024, 1, 22), D(2024, 2, 1)), jan) == Fraction(10, 31)
    feb_leap = Period(D(2024, 2, 1), D(2024, 3, 1))
    assert period_fraction(Period(D(2024, 2, 15), D(2024, 3, 1)), feb_leap) == Fraction(15, 29)
    with pytest.raises(PeriodError):
        period_fraction(Period(D(2023, 12, 31), D(2024, 1, 2)), jan)


def test_prorate_january_10_of_31_days() -> None:
    jan = Period(D(2024, 1, 1), D(2024, 2, 1))
    r = prorate(rub("3000.00"), jan, Period(D(2024, 1, 22), D(2024, 2, 1)))
    # 3000.00 × 10 / 31 = 967.7419… → 967.74
    assert r.amount == rub("967.74")
    assert r.fraction == Fraction(10, 31)
    assert "10/31" in r.explanation.en and "10/31" in r.explanation.ru
    assert r.explanation.formula == "amount = round(full price × days used / days in period) = " \
        "round(3000.00 × 10 / 31) = 967.74"


@pytest.mark.parametrize("period,used,expected", [
    # 3000 × 15 / 29 = 1551.7241… → 1551.72 (leap February)
    (Period(D(2024, 2, 1), D(2024, 3, 1)), Period(D(2024, 2, 15), D(2024, 3, 1)), "1551.72"),
    # 3000 × 14 / 28 = 1500 exactly
    (Period(D(2023, 2, 1), D(2023, 3, 1)), Period(D(2023, 2, 15), D(2023, 3, 1)), "1500.00"),
    # anniversary Jan 31: [Feb 29, Mar 31) has 31 days; 3000 × 1 / 31 = 96.774… → 96.77
    (Period(D(2024, 2, 29), D(2024, 3, 31)), Period(D(2024, 3, 30), D(2024, 3, 31)), "96.77"),
])
def test_prorate_examples(period: Period, used: Period, expected: str) -> None:
    assert prorate(rub("3000.00"), period, used).amount == rub(expected)


def test_round_half_up_is_exact_and_symmetric() -> None:
    assert round_half_up(Fraction(1, 40), "RUB") == rub("0.03")  # 0.025 → 0.03
    assert round_half_up(Fraction(-1, 40), "RUB") == rub("-0.03")
    assert round_half_up(Fraction(1, 8), "RUB") == rub("0.13")  # 0.125 → 0.13
    assert round_half_up(Fraction(2499, 100000), "RUB") == rub("0.02")  # 0.02499 → 0.02
    assert round_half_up(Fraction(1000, 3), "JPY") == Money("333", "JPY")
    assert round_half_up(Fraction(5, 2), "JPY") == Money("3", "JPY")


def test_split_adds_up_where_rounding_each_piece_would_not() -> None:
    period = Period(D(2024, 1, 1), D(2024, 1, 4))
    pieces = period.split([D(2024, 1, 2), D(2024, 1, 3)])
    # 100.00 / 3 = 33.333…; rounding each would give 99.99
    parts = split_by_days(rub("100.00"), period, pieces)
    assert [p.amount for p in parts] == [rub("33.34"), rub("33.33"), rub("33.33")]
    assert "+0.01" in parts[0].explanation.en
    assert "allocate" in parts[0].explanation.formula


def test_split_january() -> None:
    jan = Period(D(2024, 1, 1), D(2024, 2, 1))
    parts = split_by_days(rub("100.00"), jan, jan.split([D(2024, 1, 11), D(2024, 1, 21)]))
    # 10/31, 10/31, 11/31 of 100.00 = 32.258…, 32.258…, 35.483… → 32.26 + 32.26 + 35.48 = 100.00
    assert [p.amount for p in parts] == [rub("32.26"), rub("32.26"), rub("35.48")]


def test_split_rejects_pieces_that_do_not_tile_the_period() -> None:
    jan = Period(D(2024, 1, 1), D(2024, 2, 1))
    with pytest.raises(PeriodError):
        split_by_days(rub("1.00"), jan, [Period(D(2024, 1, 1), D(2024, 1, 10))])
    with pytest.raises(PeriodError):
        split_by_days(rub("1.00"), jan, [Period(D(2024, 1, 1), D(2024, 1, 10)), Period(D(2024, 1, 11), D(2024, 2, 1))])
    with pytest.raises(PeriodError):
        split_by_days(rub("1.00"), jan, [])


@given(
    st.dates(min_value=D(2000, 1, 1), max_value=D(2080, 12, 31)),
    st.sampled_from([PeriodUnit.MONTH, PeriodUnit.QUARTER, PeriodUnit.YEAR, PeriodUnit.WEEK]),
    st.decimals(min_value=0, max_value=1_000_000, places=2),
    st.lists(st.integers(1, 400), max_size=6),
)
def test_prorated_pieces_add_up_to_the_full_price(start: dt.date, unit: PeriodUnit, price: Decimal,
                                                  offsets: list[int]) -> None:
    period = anniversary_cycle(start, BillingInterval(unit)).period(0)
    cuts = {period.start + dt.timedelta(days=o % period.days) for o in offsets} - {period.start}
    pieces = period.split(cuts)
    full = rub(str(price))
    parts = split_by_days(full, period, pieces)
    assert sum((p.amount for p in parts), rub("0")) == full
    for p in parts:
        exact = Fraction(price) * Fraction(p.used.days, period.days)
        assert abs(Fraction(p.amount.amount) - exact) < Fraction(1, 100)
        assert abs(prorate(full, period, p.used).amount.amount - p.amount.amount) <= Decimal("0.01")


def test_a_proration_explains_itself_whole() -> None:
    jan = Period(D(2024, 1, 1), D(2024, 2, 1))
    r = prorate(rub("3000.00"), jan, Period(D(2024, 1, 22), D(2024, 2, 1)))
    assert (r.full, r.period, r.used) == (rub("3000.00"), jan, Period(D(2024, 1, 22), D(2024, 2, 1)))
    assert r.explanation.ru == ("Пропорционально дням: 3000.00 RUB × 10/31 дн. = 967.74 RUB "
                                "(использовано 2024-01-22–2024-01-31 из периода 2024-01-01–2024-01-31)")
    assert r.explanation.en == ("Prorated by days: 3000.00 RUB × 10/31 days = 967.74 RUB "
                                "(used 2024-01-22–2024-01-31 of the period 2024-01-01–2024-01-31)")


def test_split_pieces_explain_the_allocation_both_ways() -> None:
    period = Period(D(2024, 1, 1), D(2024, 1, 4))
    pieces = period.split([D(2024, 1, 2), D(2024, 1, 3)])
    # 200.00 / 3 = 66.666…: each alone 66.67, but they must add up: the last gives back a kopeck
    parts = split_by_days(rub("200.004"), period, pieces)  # the full price rounded first: 200.00
    assert [p.amount for p in parts] == [rub("66.67"), rub("66.67"), rub("66.66")]
    assert [(p.full, p.period, p.used, p.fraction) for p in parts] == [
        (rub("200.00"), period, pieces[i], Fraction(1, 3)) for i in range(3)]
    assert parts[0].explanation.ru == ("Пропорционально дням: 200.00 RUB × 1/3 дн. = 66.67 RUB "
                                       "(использовано 2024-01-01–2024-01-01 из периода 2024-01-01–2024-01-03)")
    assert parts[0].explanation.formula == ("piece 1 = allocate(full price 200.00 by days 1 : 1 : 1)[1] = 66.67 "
                                            "(exact 200.00 × 1 / 3)")
    assert parts[2].explanation.ru.endswith("; -0.01 при распределении, чтобы части в сумме дали 200.00 RUB")
    assert parts[2].explanation.en == (
        "Prorated by days: 200.00 RUB × 1/3 days = 66.66 RUB (used 2024-01-03–2024-01-03 of the period "
        "2024-01-01–2024-01-03); -0.01 after allocation so that the pieces add up to 200.00 RUB")
    up = split_by_days(rub("100.00"), period, pieces)[0]
    assert up.explanation.en.endswith("; +0.01 after allocation so that the pieces add up to 100.00 RUB")
    assert up.explanation.ru.endswith("; +0.01 при распределении, чтобы части в сумме дали 100.00 RUB")


def test_the_refusals_say_what_is_wrong() -> None:
    jan = Period(D(2024, 1, 1), D(2024, 2, 1))

    def refused(pieces: list[Period], message: str) -> None:
        with pytest.raises(PeriodError) as info:
            split_by_days(rub("1.00"), jan, pieces)
        assert str(info.value) == message

    refused([], "at least one sub-period is needed")
    refused([Period(D(2024, 1, 2), D(2024, 2, 1))], "sub-periods must cover [2024-01-01, 2024-02-01) exactly")
    refused([Period(D(2024, 1, 1), D(2024, 1, 31))], "sub-periods must cover [2024-01-01, 2024-02-01) exactly")
    refused([Period(D(2024, 1, 1), D(2024, 1, 10)), Period(D(2024, 1, 11), D(2024, 2, 1))],
            "sub-periods must be contiguous: piece 1 starts 2024-01-11, the previous ends 2024-01-10")
    with pytest.raises(PeriodError) as info:
        period_fraction(Period(D(2023, 12, 31), D(2024, 1, 2)), jan)
    assert str(info.value) == "[2023-12-31, 2024-01-02) is not within [2024-01-01, 2024-02-01)"
