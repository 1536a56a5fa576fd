"""Pricing core throughput: evaluations per second on one core.

Run: ``.venv/bin/python benchmarks/pricing.py [--seconds 1.0]``

Each case builds its spec and usage once, then calls ``evaluate`` (which builds every line with its
ru/en explanation and formula) in a loop for about ``--seconds`` per repeat; the best of three
repeats is reported, as wall-clock and as process CPU time (the CPU figure is the one to compare
on a busy machine). The tier models are expected to reach at least 50,000 evaluations/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kopeck.core.pricing import (
    Charge,
    ComponentSpec,
    MeterReading,
    ReadingKind,
    Usage,
    UsageEvent,
    evaluate,
)

TIER_TARGET = 50_000
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

FIVE_TIERS = [
    {"from": "0", "up_to": "1000", "unit_price": "0.1000"},
    {"from": "1000", "up_to": "10000", "unit_price": "0.0800", "flat_fee": "5.00"},
    {"from": "10000", "up_to": "100000", "unit_price": "0.0600"},
    {"from": "100000", "up_to": "1000000", "unit_price": "0.0400", "flat_fee": "50.00"},
    {"from": "1000000", "up_to": None, "unit_price": "0.0200"},
]
# one quantity in each tier, used in turn
QUANTITIES = [Usage.of_quantity(q) for q in ("750", "4321.5", "56789", "123456", "2500000")]


def spec(data: dict[str, object]) -> ComponentSpec:
    return ComponentSpec.from_dict({"code": "bench", **data})


def cycling(s: ComponentSpec, usages: list[Usage]) -> Callable[[], Charge]:
    state = {"i": 0}
    n = len(usages)

    def run() -> Charge:
        i = state["i"]
        state["i"] = (i + 1) % n
        return evaluate(s, usages[i], "RUB")

    return run


def cold(s: ComponentSpec, usages: list[Usage]) -> Callable[[], Charge]:
    """Forget the memo of fully used tiers before every evaluation: every line is built each time."""
    run = cycling(s, usages)
    memo = getattr(s.model, "full_lines")  # noqa: B009

    def run_cold() -> Charge:
        memo.clear()
        return run()

    return run_cold


def cases() -> list[tuple[str, bool, Callable[[], Charge]]]:
    graduated = spec({"model": "graduated", "tiers": FIVE_TIERS})
    volume = spec({"model": "volume", "tiers": FIVE_TIERS})
    package = spec({"model": "package", "package_size": "1000", "package_price": "90.00", "included_units": "500"})
    percentage = spec({"model": "percentage", "rate": "2.9", "fixed_fee": "0.30", "free_transactions": 10,
                       "min_per_transaction": "0.50", "max_per_transaction": "50.00",
                       "aggregation": {"type": "sum", "property": "amount"}})
    events = [UsageEvent(f"evt-{i}", T0 + dt.timedelta(minutes=i), {"amount": f"{(i * 37) % 5000 + 1}.{i % 100:02d}"})
              for i in range(1000)]
    event_usage = Usage.of_events(events, T0, T0 + dt.timedelta(days=31))
    tx_usage = Usage.of_transactions([Decimal(str(e.properties["amount"])) for e in events])
    metered = spec({"model": "graduated", "tiers": FIVE_TIERS,
                    "aggregation": {"type": "meter_reading", "max_value": "1000000"}})
    readings = []
    value = 990_000
    for day in range(31):  # 31 daily readings, 3,000 units a day, one rollover, one replacement
        kind, old_final = ReadingKind.NORMAL, None
        if day:
            value += 3000
        if value >= 1_000_000:
            value -= 1_000_000
            kind = ReadingKind.ROLLOVER
        if day == 20:
            kind, old_final, value = ReadingKind.REPLACEMENT, Decimal(value), 0
        readings.append(MeterReading(f"r{day}", T0 + dt.timedelta(days=day), Decimal(value), kind, old_final))
    meter_usage = Usage.of_readings(readings)
    return [
        ("graduated, 5 tiers (quantity in each tier in turn)", True, cycling(graduated, QUANTITIES)),
        ("graduated, 5 tiers (quantity in the last tier)", True, cycling(graduated, QUANTITIES[-1:])),
        ("graduated, 5 tiers (quantity in the first tier)", True, cycling(graduated, QUANTITIES[:1])),
        ("graduated, 5 tiers, last tier, no memo (all 5 lines)", False,
         cold(spec({"model": "graduated", "tiers": FIVE_TIERS}), QUANTITIES[-1:])),
        ("volume, 5 tiers (quantity in each tier in turn)", True, cycling(volume, QUANTITIES)),
        ("package (500 included, packages of 1000)", False, cycling(package, QUANTITIES)),
        ("percentage, 1,000 events (dedupe + sort + limits)", False, cycling(percentage, [event_usage])),
        ("percentage, 1,000 transaction amounts", False, cycling(percentage, [tx_usage])),
        ("meter, 31 readings → graduated 5 tiers", False, cycling(metered, [meter_usage])),
    ]


def measure(fn: Callable[[], Charge], seconds: float) -> tuple[float, float]:
    """Best of three repeats: (evaluations per wall second, evaluations per CPU second)."""
    fn()  # warm up (fills the per-currency memo of fully used tiers)
    batch = 1
    while True:  # calibrate a batch of about 50 ms
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - start >= 0.05:
            break
        batch *= 2
    best_wall = best_cpu = 0.0
    for _ in range(3):
        n = 0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        while time.perf_counter() - wall0 < seconds:
            for _ in range(batch):
                fn()
            n += batch
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        best_wall, best_cpu = max(best_wall, n / wall), max(best_cpu, n / max(cpu, 1e-9))
    return best_wall, best_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of each repeat")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    print(f"Python {sys.version.split()[0]}, one core, best of 3 × {args.seconds:g} s")
    header = f"{'case':55} {'evals/s (CPU)':>14} {'evals/s (wall)':>15} {'µs/eval':>9}  target"
    print(header)
    print("-" * len(header))
    failed = False
    for name, is_tier, fn in cases():
        wall, cpu = measure(fn, args.seconds)
        verdict = ""
        if is_tier:
            ok = cpu >= TIER_TARGET
            failed |= not ok
            verdict = f"≥{TIER_TARGET:,} {'ok' if ok else 'BELOW'}"
        print(f"{name:55} {cpu:14,.0f} {wall:15,.0f} {1e6 / cpu:9.1f}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
