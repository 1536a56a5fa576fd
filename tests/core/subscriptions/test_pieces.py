"""Whatever sequence of plan and quantity changes happens in a period, the client pays exactly the
sum of each piece priced alone (one rounding per piece): a credit gives back what was paid for a
piece minus what the days kept cost priced alone (defect 4 of issue 11)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.proration import round_half_up
from kopeck.core.subscriptions import (
    BilledSlot,
    Quote,
    Terms,
    billed_after,
    due_charges,
    posting_of,
    quote_phase_change,
)
from kopeck.core.vat import VatRate, vat_on_top
from tests.core.subscriptions.test_core import spec

D = dt.date
JANUARY = Period(D(2027, 1, 1), D(2027, 2, 1))


def _start(terms: Terms) -> list[BilledSlot]:
    return billed_after([], posting_of([], Quote(terms.start, "RUB", tuple(due_charges(terms, terms.start)))))


def test_an_upgrade_and_back_nets_the_pieces_priced_alone() -> None:
    plan100 = spec("a", base="100.00", seat="0.00")
    plan200 = spec("b", base="200.00", seat="0.00")
    first = Terms(plan100, "RUB", D(2027, 1, 1))
    billed = _start(first)  # 100.00 for January
    up = Terms(plan200, "RUB", D(2027, 1, 1), billing_from=D(2027, 1, 11))
    q1 = quote_phase_change(first, up, D(2027, 1, 11), billed)
    billed = billed_after(billed, posting_of(billed, q1))
    back = Terms(plan100, "RUB", D(2027, 1, 1), billing_from=D(2027, 1, 21))
    q2 = quote_phase_change(up, back, D(2027, 1, 21), billed)
    # priced alone: 100 × 10/31 = 32.26 (Jan 1–10), 200 × 10/31 = 64.52 (Jan 11–20), 100 × 11/31 = 35.48
    # (Jan 21–31): 132.26. The second credit gives back 135.48 − 64.52 = 70.96 (not 135.48 × 11/21 =
    # 70.97, which made the client pay 132.25)
    assert [(i.kind, i.amount.to_str()) for i in q2.items if i.component == "base"] == [
        ("credit", "70.96"), ("charge", "35.48")]
    assert (Money("100.00", "RUB") + q1.total + q2.total).to_str() == "132.26"


def _alone(price: Decimal, piece: Period, on_top: bool = False) -> Money:
    net = round_half_up(Fraction(price) * Fraction(piece.days, JANUARY.days), "RUB")
    return vat_on_top(net, VatRate.VAT_22).gross if on_top else net


# a few round prices recur, so that changes also leave a component's price as it was (carried over)
prices = st.one_of(st.sampled_from([Decimal("100.00"), Decimal("300.00")]),
                   st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000.00"), places=2))


@settings(max_examples=200, deadline=None)
@given(on_top=st.booleans(), base0=prices, seat0=prices, qty0=st.integers(1, 9),
       changes=st.lists(st.tuples(st.integers(0, 30), st.sampled_from(["plan", "quantity"]), prices, prices,
                                  st.integers(1, 3)), min_size=1, max_size=6))
def test_the_client_pays_the_sum_of_the_pieces_priced_alone(
        on_top: bool, base0: Decimal, seat0: Decimal, qty0: int, changes: list[tuple[int, str, Decimal, Decimal, int]]) -> None:
    """Random plan and quantity changes within January (several on one day allowed): what the
    client paid in the end — charges minus credits — is, per component, the sum of its pieces
    priced alone, where a piece runs while the component's price stays the same — with VAT on top
    too (each piece's VAT rounded once)."""
    terms = Terms(spec("p0", base=str(base0), seat=str(seat0)), "RUB", D(2027, 1, 1), quantity=qty0,
                  vat_rate=VatRate.VAT_22, prices_include_vat=not on_top)
    billed = _start(terms)
    paid = sum((c.amount for c in due_charges(terms, terms.start)), Money.zero("RUB"))
    # per component: (what prices the running piece, its start): a piece runs while its unit price
    # and quantity stay (the component is carried over a change that leaves them)
    running = {"base": ((base0, 1), D(2027, 1, 1)), "seats": ((seat0, qty0), D(2027, 1, 1))}
    expected = Money.zero("RUB")
    for n, (day, kind, base, seat, qty) in enumerate(sorted(changes, key=lambda c: c[0]), 1):
        on = D(2027, 1, day + 1)
        if kind == "plan":
            new = Terms(spec(f"p{n}", base=str(base), seat=str(seat)), "RUB", D(2027, 1, 1), quantity=terms.quantity,
                        billing_from=on, vat_rate=VatRate.VAT_22, prices_include_vat=not on_top)
        else:
            new = terms.with_(quantity=qty, billing_from=on)
        quote = quote_phase_change(terms, new, on, billed)
        billed = billed_after(billed, posting_of(billed, quote))
        paid = paid + quote.total
        comps = {c.code: c for c in new.plan.components}
        now = {"base": (Decimal(comps["base"].prices["RUB"].to_dict()["unit_price"]), 1),
               "seats": (Decimal(comps["seats"].prices["RUB"].to_dict()["unit_price"]), new.quantity)}
        for code, price in now.items():
            was, since = running[code]
            if price != was:  # the piece closes: priced alone
                expected = expected + _alone(was[0] * was[1], Period(since, on), on_top) if on > since else expected
                running[code] = (price, on)
        terms = new
    for was, since in running.values():
        expected = expected + _alone(was[0] * was[1], Period(since, JANUARY.end), on_top)
    assert paid == expected
