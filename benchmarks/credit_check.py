"""The credit check on PostgreSQL: N clients, 20 % of them in debt (issue 17; target ≤ 30 s for
100,000 clients, memory flat).

Usage::

    .venv/bin/python benchmarks/credit_check.py [--sizes 20000 100000] [--database-url URL]

For each size N:

1. drops and recreates the scratch database (default ``kopeck_credit_bench``; its name must contain
   "bench") and runs the migrations;
2. loads N clients (each with an e-mail contact), each charged 1300.00 on 2026-12-01 with an issued
   invoice due 2026-12-06; 80 % paid it (payment on the ledger, invoice paid), 20 % did not
   (untimed; bulk inserts);
3. times ``kopeck credit check --date D`` in its own process, and reports its wall time and peak
   resident memory:
   * **D = 2026-12-07** (remind day): every debtor's debt is opened and its reminder queued — the
     heaviest notice day;
   * the same again (an hourly run the same day): nothing to do;
   * **D = 2026-12-16** (block day): every debtor is blocked (client.blocked, the status, the audit,
     the notice) — the heaviest blocking day;
4. checks: N/5 debts open, N/5 reminders queued once, N/5 clients blocked, the second run changed
   nothing;
5. prints the Markdown lines for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from scratch_db import (  # benchmarks/ is on sys.path when run as a script
    bench_env,
    recreate_database,
    server_info,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopeck_credit_bench"
SECRET = "benchmark-only-not-a-secret"
TARGET_SECONDS = 30.0
BATCH = 5000
ENTITY = {
    "name": "ООО «Копейка»", "full_name": "Общество с ограниченной ответственностью «Копейка»",
    "inn": "7707083893", "kpp": "770701001", "ogrn": "1027700132195",
    "legal_address": "125009, г. Москва, ул. Тверская, д. 1", "bank_name": "ПАО Сбербанк",
    "bik": "044525225", "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225", "director_name": "Иванов И. И.",
    "accountant_name": "Петрова П. П.",
}


def _setup_django(database_url: str) -> None:
    os.environ.update(bench_env(database_url, ROOT, SECRET))
    import django

    django.setup()


def load(n: int) -> None:
    """N clients, a December charge and invoice each; every fifth one unpaid."""
    from django.core.management import call_command
    from django.db import transaction

    from kopeck.clients.models import Client, Contact
    from kopeck.common import clock
    from kopeck.common.actor import Actor
    from kopeck.core.clock import FixedClock
    from kopeck.core.ledger import AccountRole
    from kopeck.documents.models import Document
    from kopeck.documents.services import legal_entity_create
    from kopeck.ledger.models import Account, JournalTransaction, Posting
    from kopeck.ledger.services import (
        forget_system_accounts,
        ledger_system_accounts_ensure,
        system_account_code,
    )

    call_command("migrate", verbosity=0)
    forget_system_accounts()  # a fresh database: the ids remembered from the previous size are gone
    at = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    actor = Actor.system("bench")
    with clock.use_clock(FixedClock(at)):
        entity = legal_entity_create(actor=actor, **ENTITY)
        ledger_system_accounts_ensure(currencies=["RUB"])
    revenue = Account.objects.get(code=system_account_code(AccountRole.REVENUE, "RUB"))
    cash = Account.objects.get(code=system_account_code(AccountRole.CASH, "RUB"))
    for start in range(0, n, BATCH):
        size = min(BATCH, n - start)
        with transaction.atomic():
            clients = Client.objects.bulk_create([
                Client(type="legal", name=f"ООО «Клиент {start + i}»", currency="RUB", status="active",
                       search_text=f"ооо «клиент {start + i}»", created_at=at, updated_at=at) for i in range(size)])
            Contact.objects.bulk_create([Contact(client=c, kind="email", value=f"c{c.pk}@bench.example")
                                         for c in clients])
            accounts = Account.objects.bulk_create([Account(code=f"client:{c.pk}:RUB", role=AccountRole.CLIENT,
                                                            currency="RUB", client=c) for c in clients])
            debtor = [(start + i) % 5 == 0 for i in range(size)]
            txns = JournalTransaction.objects.bulk_create([
                JournalTransaction(operation="charge", client=c, currency="RUB", amount_minor=130000, vat_rate="22",
                                   reason="Абонентская плата, декабрь", recorded_at=at, actor_kind="system",
                                   actor_label="bench") for c in clients])
            pays = JournalTransaction.objects.bulk_create([
                JournalTransaction(operation="payment", client=c, currency="RUB", amount_minor=130000,
                                   reason="Оплата", recorded_at=at, actor_kind="system", actor_label="bench")
                for c, d in zip(clients, debtor, strict=True) if not d])
            postings = []
            for t, a in zip(txns, accounts, strict=True):
                postings += [Posting(transaction=t, account=a, amount_minor=130000, currency="RUB", recorded_at=at),
                             Posting(transaction=t, account=revenue, amount_minor=-130000, currency="RUB",
                                     recorded_at=at)]
            by_client = {a.client_id: a for a in accounts}
            for t in pays:
                postings += [Posting(transaction=t, account=by_client[t.client_id], amount_minor=-130000,
                                     currency="RUB", recorded_at=at),
                             Posting(transaction=t, account=cash, amount_minor=130000, currency="RUB", recorded_at=at)]
            Posting.objects.bulk_create(postings, batch_size=BATCH)
            Document.objects.bulk_create([
                Document(type="invoice", legal_entity=entity, client=c, status="issued" if d else "paid",
                         number=f"{start + i + 1}", issue_date=dt.date(2026, 12, 1), due_date=dt.date(2026, 12, 6),
                         currency="RUB", amount_minor=130000, paid_minor=0 if d else 130000, created_by="bench",
                         created_at=at) for i, (c, d) in enumerate(zip(clients, debtor, strict=True))])
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def timed_check(env: dict[str, str], day: dt.date, clock_at: dt.datetime) -> tuple[float, int, str]:
    """``kopeck credit check --date day`` in its own process, the clock fixed at ``clock_at``: the
    wall seconds of the check (Django's start-up excluded), the process's peak RSS (KiB), its output."""
    code = ("import os, sys, datetime as dt, django; django.setup();"
            "from kopeck.common import clock; from kopeck.core.clock import FixedClock;"
            f"clock.set_clock(FixedClock(dt.datetime.fromisoformat('{clock_at.isoformat()}')));"
            "from django.core.management import call_command; import time, resource;"
            "t0 = time.perf_counter();"
            f"call_command('credit', 'check', '--date', '{day.isoformat()}');"
            "print('TOOK', time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"the check failed:\n{out.stderr[-3000:]}")
    took = next(line.split() for line in out.stderr.splitlines() if line.startswith("TOOK "))
    return float(took[1]), int(took[2]), out.stdout


def counts() -> dict[str, int]:
    from kopeck.clients.models import Client
    from kopeck.credit.models import Block, Debt
    from kopeck.events.models import Event
    from kopeck.outbox.models import OutboxMessage

    return {"debts": Debt.objects.count(), "blocks": Block.objects.count(),
            "blocked": Client.objects.filter(status="blocked").count(),
            "notices": OutboxMessage.objects.filter(key__startswith="credit-").count(),
            "events": Event.objects.count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    env = bench_env(args.database_url, ROOT, SECRET)
    _setup_django(args.database_url)
    from django.db import connections

    lines = []
    for n in args.sizes:
        connections.close_all()
        recreate_database(args.database_url)
        t0 = time.perf_counter()
        load(n)
        loaded = time.perf_counter() - t0
        connections.close_all()
        rows = []
        for label, day, hour in (("remind day (debts opened, reminders)", dt.date(2026, 12, 7), 9),
                                 ("the same day again", dt.date(2026, 12, 7), 10),
                                 ("block day (every debtor blocked)", dt.date(2026, 12, 16), 9)):
            before = counts()
            wall, rss, _out = timed_check(env, day, dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC))
            after = counts()
            load1 = os.getloadavg()[0]
            delta = {k: after[k] - before[k] for k in after}
            rows.append((label, wall, rss, delta, load1))
            print(f"N={n} {label}: {wall:.1f} s, peak RSS {rss // 1024} MiB, load {load1:.1f}, {delta}", flush=True)
        debtors = (n + 4) // 5
        remind, again, block = rows
        assert remind[3]["debts"] == debtors and remind[3]["notices"] == debtors, remind
        assert all(v == 0 for v in again[3].values()), again
        assert block[3]["blocks"] == debtors and block[3]["blocked"] == debtors, block
        lines.append(f"\nN = {n:,} clients ({debtors:,} in debt), loaded in {loaded:.0f} s (untimed):\n")
        lines.append("| run | wall | peak RSS | changed | load avg (1 min) at the end |")
        lines.append("|---|---|---|---|---|")
        for label, wall, rss, delta, load1 in rows:
            what = ", ".join(f"{k} +{v}" for k, v in delta.items() if v) or "nothing"
            lines.append(f"| {label} | {wall:.1f} s | {rss // 1024} MiB | {what} | {load1:.1f} |")
    info = server_info(args.database_url)
    print(f"\n## Credit check — {time.strftime('%Y-%m-%d', time.gmtime())}\n")
    print(f"Command: `.venv/bin/python benchmarks/credit_check.py --sizes {' '.join(map(str, args.sizes))}` "
          f"(target ≤ {TARGET_SECONDS:.0f} s at 100,000). {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, PostgreSQL {info['server_version']} (synchronous_commit={info['synchronous_commit']}).")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
