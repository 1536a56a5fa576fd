"""Billing-run throughput on PostgreSQL: sandbox and automatic mode over N monthly subscriptions.

Usage::

    .venv/bin/python benchmarks/billing_run.py [--sizes 10000 100000] [--workers 2]
                                               [--database-url URL] [--in-process] [--documents]

For each size N, all on this machine and in bounded loops:

1. drops and recreates the scratch database (default ``kopeck_billing_bench``; its name must contain
   "bench", so a mistyped URL cannot wipe a real database) and runs the migrations;
2. creates N/5 clients and N monthly subscriptions on three plans — fixed (990 ₽), per-unit
   (150 ₽ × 1..10 units) and metered (490 ₽ base + traffic in GB on graduated tiers) — started on
   D0 = 2026-09-01 (untimed: the first periods are billed by an automatic run on D0, and the metered
   subscriptions get 3 usage events each in September) — no ``ANALYZE``: the runs refresh stale
   statistics themselves, within the time measured;
3. times, on the billing date D1 = 2026-10-01, a **sandbox** run and then an **automatic** run
   (in-advance October fees, September usage), each dispatched to ``--workers`` real Celery worker
   processes over Redis (``--in-process``: the embedded default, one process);
4. reports wall time, subscriptions/s, the peak resident memory of each worker process, and, in the
   same database, the time to COPY as many rows as the automatic run wrote to the ledger
   (transactions + postings) into a scratch table (temporary, and also a regular logged one), and
   the database's own cost of writing what the
   automatic run wrote (``write_floor``);
5. checks the result: every subscription billed once, the ledger balanced, a second automatic run on
   D1 adds nothing;
6. prints the Markdown lines for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from scratch_db import (  # benchmarks/ is on sys.path when run as a script
    bench_env,
    recreate_database,
    server_info,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopeck_billing_bench"
REDIS = "redis://127.0.0.1:6379/14"
SECRET = "benchmark-only-not-a-secret"
D0, D1 = dt.date(2026, 9, 1), dt.date(2026, 10, 1)
TARGET_SECONDS = 60.0

PLANS: dict[str, dict[str, Any]] = {
    "bench-fixed": {"components": [
        {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "990.00"}}}]},
    "bench-unit": {"components": [
        {"code": "seats", "kind": "per_unit", "prices": {"RUB": {"model": "standard", "unit_price": "150.00"}}}]},
    "bench-metered": {"components": [
        {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "490.00"}}},
        {"code": "traffic", "kind": "metered",
         "prices": {"RUB": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                            "tiers": [{"from": "0", "up_to": "100", "unit_price": "0"},
                                      {"from": "100", "up_to": None, "unit_price": "1.50"}]}}}]},
}


def _env(database_url: str) -> dict[str, str]:
    return bench_env(database_url, ROOT, SECRET)


# -- data ---------------------------------------------------------------------------------------------

ENTITY = {
    "name": "ООО «Копейка»", "full_name": "Общество с ограниченной ответственностью «Копейка»",
    "inn": "7707083893", "kpp": "770701001", "ogrn": "1027700132195",
    "legal_address": "125009, г. Москва, ул. Тверская, д. 1", "bank_name": "ПАО Сбербанк",
    "bik": "044525225", "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225", "director_name": "Иванов И. И.",
    "accountant_name": "Петрова П. П.",
}


def prepare(n: int, documents: bool = False) -> None:
    """Clients, plans and subscriptions (bulk), billed for their first period on D0, with usage;
    with ``documents``, the provider's legal entity, so that automatic runs issue an invoice per
    client."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from kopeck.catalog.models import Plan, PlanVersion, Product, VersionStatus
    from kopeck.clients.models import Client
    from kopeck.common import clock
    from kopeck.core.pricing.plan import PlanSpec
    from kopeck.subscriptions.models import Subscription

    now = clock.now()
    product = Product.objects.create(code="bench", name_ru="Бенчмарк", created_at=now, updated_at=now)
    versions = {}
    for code, body in PLANS.items():
        plan = Plan.objects.create(product=product, code=code, name_ru=code, created_at=now)
        spec = {"code": code, "name": code, "billing_period": {"unit": "month", "count": 1},
                "currencies": ["RUB"], **body}
        versions[code] = PlanVersion.objects.create(
            plan=plan, number=1, status=VersionStatus.PUBLISHED, spec=PlanSpec.from_dict(spec).to_dict(),
            effective_from=D0, existing_subscribers="next_period", created_at=now, published_at=now)
    clients = Client.objects.bulk_create(
        [Client(type="individual", name=f"Клиент {k}", currency="RUB", status="active", fields={},
                search_text=f"клиент {k}", created_at=now, updated_at=now) for k in range(n // 5)],
        batch_size=2000)
    codes = list(PLANS)
    subs = []
    for k in range(n):
        code = codes[k % 3]
        version = versions[code]
        subs.append(Subscription(client=clients[k // 5], plan_id=version.plan_id, plan_version=version,
                                 quantity=(k % 10) + 1 if code == "bench-unit" else 1, currency="RUB",
                                 start_date=D0, status="active", created_at=now, updated_at=now))
    Subscription.objects.bulk_create(subs, batch_size=2000)
    if documents:
        from kopeck.common.actor import Actor
        from kopeck.documents.services import legal_entity_create

        legal_entity_create(actor=Actor.system("benchmark"), **ENTITY)
    from django.db import connections

    connections.close_all()


def add_usage() -> int:
    from kopeck.common import clock
    from kopeck.subscriptions.models import Subscription
    from kopeck.usage.models import UsageEvent

    now = clock.now()
    events = []
    for sub_id in Subscription.objects.filter(plan__code="bench-metered").values_list("id", flat=True).iterator():
        for j in range(3):
            events.append(UsageEvent(subscription_id=sub_id, event_id=f"e{sub_id}-{j}", metric="traffic",
                                     timestamp=dt.datetime(2026, 9, 3 + 7 * j, 12, tzinfo=dt.UTC),
                                     properties={"gb": str(40 + (sub_id % 50))}, received_at=now))
    UsageEvent.objects.bulk_create(events, batch_size=5000)
    return len(events)


# -- runs ---------------------------------------------------------------------------------------------

def _peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Workers:
    """``count`` real Celery worker processes (solo pool) consuming a private queue over Redis."""

    def __init__(self, database_url: str, count: int) -> None:
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        env = {**_env(database_url), "CELERY_BROKER_URL": REDIS, "CELERY_RESULT_BACKEND": "",
               "KOPECK_BILLING_QUEUE": self.queue}
        self.procs = [subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kopeck.celery", "worker", "--pool=solo", "-Q", self.queue,
             "-n", f"w{k}-{self.queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "WARNING"], env=env, cwd=str(ROOT), start_new_session=True) for k in range(count)]
        time.sleep(3)

    def peaks_mib(self) -> list[float]:
        return [round(_peak_rss_kib(p.pid) / 1024, 1) for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def timed_run(day: dt.date, mode: str, workers: Workers | None) -> tuple[float, Any]:
    from kopeck.billing import services as billing
    from kopeck.billing.models import BillingRun, RunStatus
    from kopeck.common.actor import Actor

    actor = Actor.system("benchmark")
    run = billing.billing_run_create(actor=actor, billing_date=day, mode=mode)
    started = time.perf_counter()
    if workers is None:
        run = billing.billing_run_execute(actor=actor, run=run)
    else:
        billing.billing_run_dispatch(actor=actor, run=run, queue=workers.queue)
        while True:
            time.sleep(0.2)
            run = BillingRun.objects.get(pk=run.pk)
            if run.status in (RunStatus.COMPLETED, RunStatus.FAILED):
                break
    elapsed = time.perf_counter() - started
    if run.status != RunStatus.COMPLETED:
        sys.exit(f"run #{run.pk} ended {run.status}")
    if run.summary.get("errors"):
        from kopeck.billing.models import RunItem

        sys.exit(f"run #{run.pk} ({mode} on {day}) has {run.summary['errors']} subscriptions in error, e.g. "
                 f"{RunItem.objects.filter(run=run, status='error').values_list('error', flat=True).first()}")
    return elapsed, run


def copy_seconds(database_url: str, rows: int, *, logged: bool = False) -> float:
    """COPY ``rows`` rows shaped like ledger postings (and transactions) into a scratch table:
    temporary (no WAL), or with ``logged`` a regular table (written to the WAL, as the ledger is);
    no index either way."""
    buf = io.StringIO()
    for k in range(rows):
        buf.write(f"{k}\t{k % 20000}\t{99000 + k % 1000}\tRUB\t2026-10-01 00:00:00+00\t"
                  f"Абонентская плата bench-fixed base 2026-10-01\n")
    data = buf.getvalue()
    with psycopg.connect(database_url) as conn:
        conn.execute("DROP TABLE IF EXISTS copy_probe")
        conn.execute(f"CREATE {'' if logged else 'TEMP '}TABLE copy_probe"
                     " (transaction_id bigint, account_id bigint, amount_minor bigint,"
                     " currency varchar(3), recorded_at timestamptz, reason varchar(500))")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY copy_probe FROM STDIN") as copy:
            copy.write(data)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE copy_probe")
        conn.commit()
        return elapsed


def id_marks(database_url: str) -> dict[str, int]:
    """The highest id of every table with an ``id`` column (to find what a run then writes)."""
    with psycopg.connect(database_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id'"
            " AND data_type IN ('bigint', 'integer')")]
        return {t: int(conn.execute(f'SELECT coalesce(max(id), 0) FROM "{t}"').fetchone()[0])  # type: ignore[index]
                for t in tables}


def write_floor(database_url: str, before: dict[str, int]) -> dict[str, Any]:
    """The database's own cost of writing what the run wrote, with no computing at all: the rows the
    run added to each table are read back and COPYed, in one committed transaction, into tables made
    ``LIKE`` the real ones (same columns, indexes and checks; no foreign keys, so this is a lower
    bound). Timed twice: the ledger's rows only, and every row the run wrote."""
    after = id_marks(database_url)
    written = {t: before.get(t, 0) for t in after if after[t] > before.get(t, 0)}
    with psycopg.connect(database_url) as conn:
        data: dict[str, bytes] = {}
        rows: dict[str, int] = {}
        for table, mark in written.items():
            buf = bytearray()
            with conn.cursor().copy(f'COPY (SELECT * FROM "{table}" WHERE id > {mark}) TO STDOUT') as copy:
                for block in copy:
                    buf += block
            data[table], rows[table] = bytes(buf), after[table] - mark

        def timed(tables: list[str]) -> float:
            for t in tables:
                conn.execute(f'DROP TABLE IF EXISTS "floor_{t}"')
                conn.execute(f'CREATE TABLE "floor_{t}" (LIKE "{t}" INCLUDING ALL)')
            conn.commit()
            started = time.perf_counter()
            for t in tables:
                with conn.cursor().copy(f'COPY "floor_{t}" FROM STDIN') as copy:
                    copy.write(data[t])
            conn.commit()
            elapsed = time.perf_counter() - started
            for t in tables:
                conn.execute(f'DROP TABLE "floor_{t}"')
            conn.commit()
            return elapsed

        ledger = [t for t in ("ledger_journaltransaction", "ledger_posting") if t in data]
        return {"floor_ledger_s": round(timed(ledger), 3), "floor_all_s": round(timed(list(data)), 3),
                "written_rows": sum(rows.values()), "written_mib": round(sum(map(len, data.values())) / 2**20, 1),
                "written_tables": {t: rows[t] for t in sorted(rows)}}


def check(n: int, run: Any) -> dict[str, int]:
    from django.db.models import Sum

    from kopeck.ledger.models import JournalTransaction, Posting
    from kopeck.subscriptions.models import BilledPeriod

    october = BilledPeriod.objects.filter(period_start=D1).count()
    usage = BilledPeriod.objects.filter(component="traffic", period_start=D0).count()
    expected_october = n
    if october != expected_october:
        sys.exit(f"expected {expected_october} October fees, found {october}")
    if Posting.objects.aggregate(s=Sum("amount_minor"))["s"] != 0:
        sys.exit("the ledger does not balance")
    return {"transactions": JournalTransaction.objects.count(), "postings": Posting.objects.count(),
            "october_fees": october, "usage_lines": usage}


def bench(database_url: str, n: int, workers_count: int, in_process: bool, documents: bool = False) -> dict[str, Any]:
    recreate_database(database_url)
    os.environ.update(_env(database_url))
    if not in_process:
        # this process dispatches through the broker; without one Celery would run every task here
        # ("always eager") and the workers would sit idle
        os.environ.update({"CELERY_BROKER_URL": REDIS, "CELERY_RESULT_BACKEND": ""})
    t0 = time.perf_counter()
    prepare(n, documents)
    from django.conf import settings

    if in_process != settings.CELERY_TASK_ALWAYS_EAGER:
        sys.exit("the run would not be executed where the benchmark says (check CELERY_BROKER_URL)")
    from kopeck.common.actor import Actor  # noqa: F401  (django is set up by prepare)
    from kopeck.ledger.models import JournalTransaction, Posting

    workers = None if in_process else Workers(database_url, workers_count)
    try:
        first, _ = timed_run(D0, "auto", workers)
        add_usage()
        # no ANALYZE here: the timed runs start right after the bulk load, before autovacuum has
        # analyzed anything, and each run refreshes the statistics it needs (kopeck.common.dbstats)
        # within its timed span
        setup = time.perf_counter() - t0
        ledger_before = JournalTransaction.objects.count() + Posting.objects.count()
        sandbox, _ = timed_run(D1, "sandbox", workers)
        marks = id_marks(database_url)
        auto, run = timed_run(D1, "auto", workers)
        floor = write_floor(database_url, marks)
        ledger_rows = JournalTransaction.objects.count() + Posting.objects.count() - ledger_before
        again, run2 = timed_run(D1, "auto", workers)
        if run2.summary.get("charges", 0) != 0:
            sys.exit(f"a second run on {D1} would charge {run2.summary.get('charges')} lines")
        peaks = workers.peaks_mib() if workers else [round(_peak_rss_kib(os.getpid()) / 1024, 1)]
    finally:
        if workers:
            workers.stop()
    counts = check(n, run)
    from kopeck.documents.models import Document

    counts["documents"] = Document.objects.filter(run=run).count()
    copy = copy_seconds(database_url, ledger_rows)
    copy_logged = copy_seconds(database_url, ledger_rows, logged=True)
    return {"n": n, "clients": n // 5, "setup_s": round(setup, 1), "first_run_s": round(first, 1),
            "sandbox_s": round(sandbox, 2), "auto_s": round(auto, 2), "again_s": round(again, 2),
            "sandbox_rate": round(n / sandbox), "auto_rate": round(n / auto), "peak_mib": peaks,
            "ledger_rows": ledger_rows, "copy_s": round(copy, 3), "auto_vs_copy": round(auto / copy, 1),
            "copy_logged_s": round(copy_logged, 3), "auto_vs_copy_logged": round(auto / copy_logged, 1),
            **floor, "floor_ledger_vs_copy": round(floor["floor_ledger_s"] / copy, 1),
            "floor_all_vs_copy": round(floor["floor_all_s"] / copy, 1), **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--in-process", action="store_true", help="run in this process (no Celery)")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--documents", action="store_true",
                        help="also run each size with documents issued (an invoice per client) and compare")
    args = parser.parse_args()
    results = []
    for n, docs in [(n, d) for n in args.sizes for d in ([False, True] if args.documents else [False])]:
        # a fresh interpreter per size: Django is set up once per process
        code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import billing_run as b; "
                f"print('RESULT', json.dumps(b.bench({args.database_url!r}, {n}, {args.workers}, "
                f"{args.in_process!r}, {docs!r})))")
        out = subprocess.run([sys.executable, "-c", code], env=_env(args.database_url), cwd=str(ROOT),
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            sys.exit(f"size {n} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
        import json

        results.append(json.loads(line[len("RESULT "):]))
        print(results[-1], flush=True)
    info = server_info(args.database_url)
    how = "in-process" if args.in_process else f"{args.workers} Celery workers (solo pool) over Redis"
    print(f"\n### Billing runs — {time.strftime('%Y-%m-%d')}\n")
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL "
          f"{info['server_version']} (synchronous_commit={info['synchronous_commit']}); {how}.")
    print(f"Command: `.venv/bin/python benchmarks/billing_run.py --sizes {' '.join(map(str, args.sizes))}"
          f"{' --in-process' if args.in_process else f' --workers {args.workers}'}"
          f"{' --documents' if args.documents else ''}`\n")
    print("| subscriptions | clients | documents issued | sandbox s (subs/s) | automatic s (subs/s) | ledger rows |"
          " COPY s | auto ÷ COPY | COPY into a logged table s (auto ÷) | peak RSS per worker, MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']:,} | {r['clients']:,} | {r['documents']:,} | {r['sandbox_s']} ({r['sandbox_rate']:,}) | {r['auto_s']} "
              f"({r['auto_rate']:,}) | {r['ledger_rows']:,} | {r['copy_s']} | {r['auto_vs_copy']}× | "
              f"{r['copy_logged_s']} ({r['auto_vs_copy_logged']}×) | {', '.join(map(str, r['peak_mib']))} |")
    print("\nThe database's own cost of the automatic run's writes, with no computing (rows read back and"
          " COPYed into tables LIKE the real ones, committed; see write_floor):\n")
    print("| subscriptions | documents issued | rows written | MiB | ledger rows into ledger tables s (÷ COPY) |"
          " all rows into their tables s (÷ COPY) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']:,} | {r['documents']:,} | {r['written_rows']:,} | {r['written_mib']} | "
              f"{r['floor_ledger_s']} ({r['floor_ledger_vs_copy']}×) | {r['floor_all_s']} ({r['floor_all_vs_copy']}×) |")
    for r in results:
        print(f"\nRows written at {r['n']:,}{' with documents' if r['documents'] else ''}: "
              + ", ".join(f"{t} {k:,}" for t, k in r["written_tables"].items()))
    for r in results:
        if r["documents"]:
            base = next((x for x in results if x["n"] == r["n"] and not x["documents"]), None)
            if base:
                print(f"\nWith documents at {r['n']:,}: automatic {r['auto_s']} s vs {base['auto_s']} s without "
                      f"({(r['auto_s'] / base['auto_s'] - 1) * 100:+.0f} %; at most +30 % is the target).")
    plain = [r for r in results if not r["documents"]]
    if len(plain) >= 2:
        a, b = plain[0], plain[-1]
        per_a, per_b = a["auto_s"] / a["n"], b["auto_s"] / b["n"]
        print(f"\nTime per subscription, automatic: {per_a * 1e3:.3f} ms at {a['n']:,} → {per_b * 1e3:.3f} ms at "
              f"{b['n']:,} ({(per_b / per_a - 1) * 100:+.0f} %; linear within 20 % is the target).")


if __name__ == "__main__":
    main()
