"""Bank statement import on PostgreSQL: a 1CClientBankExchange file of N payment orders over M
clients, previewed and applied; target ≤ 60 s for both together, memory flat in the file size.

Usage::

    .venv/bin/python benchmarks/bank_import.py [--sizes 10000 100000] [--clients 20000]
                                               [--database-url URL]

For each size N, in a fresh scratch database (default ``kopeck_bank_bench``; the name must contain
"bench") with the migrations applied, a child process:

1. creates M clients (legal entities with ИНН, КПП, р/с, БИК) and one open invoice each (untimed;
   rows written directly, as a billing run would have issued them);
2. writes a statement like a bank's (Windows-1251, CRLF, version 1.03) of N orders: 90 % from
   clients found by ИНН, 4 % from payers found only by the invoice number in the purpose, 4 % from
   unknown payers, 1 % outgoing, 1 % repeated orders — each client's first order names its invoice;
3. times the preview (read, match, store the lines) and the apply (payments, ledger credits,
   allocations, the invoices' paid state, audit, events) — one transaction;
4. reports wall time, rows/s, the process's peak resident memory, and checks the result: every
   incoming order taken once, the ledger balanced, applying again adds nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scratch_db import bench_env, recreate_database, server_info  # benchmarks/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopeck_bank_bench"
SECRET = "benchmark-only-not-a-secret"
TARGET_SECONDS = 60.0
OUR = "40702810938000000001"


def _inn(n: int) -> str:
    prefix = f"77{n:07d}"
    from kopeck.core.requisites import inn_check_digits

    return prefix + inn_check_digits(prefix)


def _setup(clients: int) -> dict[int, tuple[int, str, str]]:
    from kopeck.clients.models import Client
    from kopeck.common.actor import Actor
    from kopeck.common.bulk import insert_rows
    from kopeck.documents.models import Document
    from kopeck.documents.services import legal_entity_create

    actor = Actor.system("bench")
    entity = legal_entity_create(
        actor=actor, name="ООО «Копейка»", full_name="Общество с ограниченной ответственностью «Копейка»",
        inn="7707083893", kpp="770701001", ogrn="1027700132195", legal_address="г. Москва", bank_name="ПАО Сбербанк",
        bik="044525225", settlement_account=OUR, correspondent_account="30101810400000000225")
    now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    ids = insert_rows(Client, ("type", "name", "status", "currency", "fields", "search_text", "created_at",
                               "updated_at"), [
        ("legal", f"ООО «Клиент {n}»", "active", "RUB",
         {"inn": _inn(n), "kpp": "770101001", "settlement_account": f"40702810{n:012d}", "bik": "044525974"},
         f"клиент {n}", now, now) for n in range(1, clients + 1)])
    docs = insert_rows(Document, ("type", "legal_entity_id", "client_id", "status", "number", "issue_date", "due_date",
                                  "currency", "language", "data", "amount_minor", "vat_minor", "paid_minor", "run_part",
                                  "notes", "created_by", "created_at", "issued_at", "number_period",
                                  "cancel_reason"), [
        ("invoice", entity.pk, cid, "issued", f"Б-{n}", dt.date(2026, 11, 25), dt.date(2026, 11, 30), "RUB", "ru", {},
         1500000 + n % 7 * 10000, 0, 0, 1, "", "bench", now, now, "", "") for n, cid in enumerate(ids, 1)])
    return {n: (cid, _inn(n), f"Б-{n}") for n, (cid, _doc) in enumerate(zip(ids, docs, strict=True), 1)}


def _write_file(path: Path, orders: int, clients: dict[int, tuple[int, str, str]], seed: int = 15) -> dict[str, int]:
    rnd = random.Random(seed)
    expect = {"matched": 0, "unidentified": 0, "duplicate": 0, "ignored": 0}
    first_done: set[int] = set()
    header = ["1CClientBankExchange", "ВерсияФормата=1.03", "Кодировка=Windows", "Отправитель=Сбербанк Бизнес Онлайн",
              "Получатель=", "ДатаСоздания=01.12.2026", "ВремяСоздания=09:00:00", "ДатаНачала=01.12.2026",
              "ДатаКонца=01.12.2026", f"РасчСчет={OUR}", "Документ=Платежное поручение"]
    previous: list[str] | None = None
    with path.open("w", encoding="cp1251", newline="\r\n") as f:
        f.write("\n".join(header) + "\n")
        for i in range(orders):
            roll = rnd.random()
            if roll < 0.01 and previous is not None:
                f.write("\n".join(previous) + "\n")
                expect["duplicate"] += 1
                continue
            n = rnd.randint(1, len(clients))
            _cid, inn, invoice = clients[n]
            amount = f"{rnd.randint(100, 50000)}.{rnd.randint(0, 99):02d}"
            purpose = f"Оплата по счету № {invoice} от 25.11.2026" if n not in first_done else "Оплата услуг хостинга"
            first_done.add(n)
            payer_inn, payer_account, payee = inn, f"40702810{n:012d}", OUR
            if roll < 0.02:
                payer_inn, payer_account, payee = "7707083893", OUR, "40702810400000001234"
                expect["ignored"] += 1
            elif roll < 0.06:
                payer_inn, payer_account = "", f"40817810{i:012d}"
                purpose = f"Оплата по счету № {invoice} от 25.11.2026"
                expect["matched"] += 1
            elif roll < 0.10:
                payer_inn, payer_account, purpose = "", f"40817810{i:012d}", "Перевод"
                expect["unidentified"] += 1
            else:
                expect["matched"] += 1
            doc = ["СекцияДокумент=Платежное поручение", f"Номер={i + 1}", "Дата=01.12.2026", f"Сумма={amount}",
                   f"ПлательщикСчет={payer_account}", "ДатаСписано=", f"Плательщик=ООО «Клиент {n}»",
                   f"ПлательщикИНН={payer_inn}", "ПлательщикКПП=770101001", "ПлательщикБИК=044525974",
                   "ПлательщикБанк1=АО «ТИНЬКОФФ БАНК»", f"ПолучательСчет={payee}", "ДатаПоступило=01.12.2026",
                   "ПолучательИНН=7707083893", "ВидОплаты=01", "Очередность=5", f"НазначениеПлатежа={purpose}",
                   "КонецДокумента"]
            f.write("\n".join(doc) + "\n")
            previous = doc if payee == OUR else None  # only an incoming order is repeated
        f.write("КонецФайла\n")
    return expect


def child(orders: int, clients: int) -> None:
    import django

    django.setup()
    from django.db import connection

    from kopeck.common.actor import Actor
    from kopeck.ledger.models import Posting
    from kopeck.payments.models import Payment, StatementLine
    from kopeck.payments.statements.apply import bank_statement_apply
    from kopeck.payments.statements.preview import bank_statement_preview

    book = _setup(clients)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kl_to_1c.txt"
        expect = _write_file(path, orders, book)
        size = path.stat().st_size
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        actor = Actor.system("bench")
        t0, c0 = time.perf_counter(), time.process_time()
        with path.open("rb") as stream:
            st = bank_statement_preview(actor=actor, stream=stream, file_name=path.name)
        t1, c1 = time.perf_counter(), time.process_time()
        if os.environ.get("BENCH_SQL"):
            from collections import Counter

            spent: Counter[str] = Counter()

            def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                s0 = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    spent[" ".join(sql.split())[:110]] += time.perf_counter() - s0

            with connection.execute_wrapper(timer):
                bank_statement_apply(actor=actor, statement=st)
            for q, sec in spent.most_common(15):
                print(f"{sec:7.2f}s {q}")
        elif os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            # BENCH_PROFILE=cpu: the process's CPU time only (the default profiles wall time, waits included)
            prof = cProfile.Profile(time.process_time) if os.environ["BENCH_PROFILE"] == "cpu" else cProfile.Profile()
            prof.runcall(bank_statement_apply, actor=actor, statement=st)
            pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(45)
        else:
            bank_statement_apply(actor=actor, statement=st)
        t2, c2 = time.perf_counter(), time.process_time()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        got = {o: v["count"] for o, v in st.totals.items()}
        assert got == expect, (got, expect)
        taken = Payment.objects.count()
        assert taken == expect["matched"] + expect["unidentified"], taken
        assert StatementLine.objects.filter(statement=st, outcome__in=("matched", "unidentified")).count() == taken
        total = sum(Posting.objects.values_list("amount_minor", flat=True))
        assert total == 0, total
        with path.open("rb") as stream:
            again = bank_statement_preview(actor=actor, stream=stream, file_name="again.txt")
        bank_statement_apply(actor=actor, statement=again)
        assert Payment.objects.count() == taken
    print(f"RESULT orders={orders} clients={clients} size={size} preview={t1 - t0:.2f} apply={t2 - t1:.2f} "
          f"preview_cpu={c1 - c0:.2f} apply_cpu={c2 - c1:.2f} rss_before={rss0 // 1024} rss_peak={rss1 // 1024} "
          f"matched={expect['matched']} unidentified={expect['unidentified']} duplicate={expect['duplicate']} "
          f"ignored={expect['ignored']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.clients)
        return
    env = bench_env(args.database_url, ROOT, SECRET)
    env["KOPECK_VAR_DIR"] = tempfile.mkdtemp(prefix="kopeck-bench-")
    info = server_info_safe(args.database_url)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPU, load average {os.getloadavg()}; "
          f"PostgreSQL {info}")
    print("| orders | clients | file | preview s | apply s | together s | orders/s | CPU s (preview + apply) | "
          "peak RSS MiB | target ≤ 60 s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        recreate_database(args.database_url)
        subprocess.run([str(ROOT / ".venv/bin/kopeck"), "migrate", "-v", "0"], env=env, check=True)
        load = os.getloadavg()
        out = subprocess.run([sys.executable, __file__, "--child", str(size), "--clients", str(args.clients)],
                             env=env, check=True, capture_output=True, text=True).stdout
        line = next(x for x in out.splitlines() if x.startswith("RESULT"))
        r: dict[str, Any] = dict(kv.split("=", 1) for kv in line.split()[1:])
        together = float(r["preview"]) + float(r["apply"])
        print(f"| {size:,} | {args.clients:,} | {int(r['size']) / 2**20:.1f} MiB | {float(r['preview']):.1f} | "
              f"{float(r['apply']):.1f} | {together:.1f} | {size / together:,.0f} | "
              f"{float(r['preview_cpu']):.1f} + {float(r['apply_cpu']):.1f} | {r['rss_peak']} | "
              f"{'met' if together <= TARGET_SECONDS else 'NOT met'} (load before {load[0]:.1f}) |")


def server_info_safe(url: str) -> str:
    try:
        i = server_info(url.rsplit("/", 1)[0] + "/postgres")
        return f"{i['server_version']} (fsync={i['fsync']}, synchronous_commit={i['synchronous_commit']})"
    except Exception as exc:
        return f"? ({exc})"


if __name__ == "__main__":
    main()
