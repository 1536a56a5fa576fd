"""Usage-event intake throughput over HTTP: the real product under gunicorn, batches of 1,000 events.

Usage::

    .venv/bin/python benchmarks/ingest.py [--batches N] [--senders S] [--subscriptions K]
                                          [--duplicates 0.1] [--database-url URL] [--workers 2 --threads 2]

What it does, all on this machine and in bounded loops:

1. drops and recreates the scratch database (default ``kopeck_ingest_bench``; its name must contain
   "bench", so a mistyped URL cannot wipe a real database) and runs the migrations;
2. creates an API key with ``usage:write``, one client, a product and a plan whose published version
   has metered components (a count and a sum), and ``--subscriptions`` subscriptions;
3. starts ``gunicorn kopeck.wsgi:application`` (``--workers``, ``--threads``) on a free local port;
4. ``--senders`` client processes (plain ``http.client``, one keep-alive connection each) encode
   their batches up front, wait for each other, then send ``--batches`` batches of ``--batch`` events
   in total; ``--duplicates`` of the events (10 % by default) repeat an id sent before (the same event
   again, as a retrying sender would);
5. reports events/s (every event sent, duplicates included, over the wall time from the first request
   to the last reply), the p50/p99/max latency per batch, and where the CPU went (senders, gunicorn,
   PostgreSQL);
6. checks that every reply accounts for every event, that the stored count equals the number of
   distinct ids, and that the replies' "accepted" add up to it (a duplicate is never counted twice);
7. prints the Markdown lines for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
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

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopeck_ingest_bench"
TARGET = 20_000  # events/s
START_TIMEOUT = 120
SECRET = "benchmark-only-not-a-secret"

PLAN_SPEC: dict[str, Any] = {
    "code": "bench-metered", "name": "Bench metered", "billing_period": {"unit": "month", "count": 1},
    "currencies": ["RUB"],
    "components": [
        {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "990.00"}}},
        {"code": "api_calls", "kind": "metered",
         "prices": {"RUB": {"model": "standard", "unit_price": "0.01", "aggregation": {"type": "count"}}}},
        {"code": "traffic", "kind": "metered",
         "prices": {"RUB": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                            "tiers": [{"from": "0", "up_to": "100", "unit_price": "0"},
                                      {"from": "100", "up_to": None, "unit_price": "1.50"}]}}},
    ],
}


def _env(database_url: str) -> dict[str, str]:
    return bench_env(database_url, ROOT, SECRET)


def prepare(database_url: str, subscriptions: int) -> tuple[str, list[str]]:
    """Migrate, then create the key, the client, the plan and the subscriptions; (token, external ids)."""
    os.environ.update(_env(database_url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from kopeck.catalog.models import Plan, PlanVersion, Product, VersionStatus
    from kopeck.clients.services import client_create
    from kopeck.common import clock
    from kopeck.common.actor import Actor
    from kopeck.configuration.selectors import provider_today
    from kopeck.core.pricing.plan import PlanSpec
    from kopeck.core.requisites import inn_check_digits
    from kopeck.operators.services import api_key_create
    from kopeck.subscriptions.models import Subscription

    actor = Actor.system("benchmark")
    now = clock.now()
    token = api_key_create(name="ingest bench", scopes=["usage:write"], actor=actor).token
    prefix = "770000001"
    client = client_create(actor=actor, type="legal", name="Bench client", currency="RUB",
                           fields={"full_name": "ООО «Бенчмарк»", "inn": prefix + inn_check_digits(prefix)})
    product = Product.objects.create(code="bench", name_ru="Бенчмарк", created_at=now, updated_at=now)
    plan = Plan.objects.create(product=product, code="bench-metered", name_ru="Бенчмарк", created_at=now)
    start = provider_today() - dt.timedelta(days=10)
    version = PlanVersion.objects.create(
        plan=plan, number=1, status=VersionStatus.PUBLISHED, spec=PlanSpec.from_dict(PLAN_SPEC).to_dict(),
        effective_from=start, existing_subscribers="next_period", created_at=now, published_at=now)
    externals = [f"bench-sub-{k}" for k in range(subscriptions)]
    Subscription.objects.bulk_create([
        Subscription(client=client, plan=plan, plan_version=version, currency="RUB", external_id=ext,
                     start_date=start, status="active", created_at=now, updated_at=now) for ext in externals],
        batch_size=1000)
    from django.db import connections

    connections.close_all()
    return token, externals


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(database_url: str, port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "gunicorn", "kopeck.wsgi:application", "--workers", str(workers),
           "--threads", str(threads), "-b", f"127.0.0.1:{port}", "--keep-alive", "30", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=_env(database_url), cwd=str(ROOT), start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/admin/login/")
            conn.getresponse().read()
            conn.close()
            return proc
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"gunicorn exited with {proc.returncode}")
            time.sleep(0.2)
    proc.kill()
    sys.exit("gunicorn did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (gunicorn master and workers) from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


def _postgres_cpu() -> float:
    """CPU seconds of every postgres process on the machine (the server is local)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# -- senders ------------------------------------------------------------------------------------------


def make_batches(sender: int, batches: int, size: int, externals: list[str], dup_share: float,
                 seed: int) -> tuple[list[bytes], set[tuple[str, str]]]:
    """Encoded batches and the distinct (external id, event id) pairs they contain."""
    rnd = random.Random(seed)
    now = dt.datetime.now(dt.UTC)  # noqa: TID251 - the sender's wall clock, not the product's
    sent: list[dict[str, Any]] = []
    distinct: set[tuple[str, str]] = set()
    bodies = []
    n = 0
    for _b in range(batches):
        batch = []
        for _i in range(size):
            if sent and rnd.random() < dup_share:
                batch.append(sent[rnd.randrange(len(sent))])
                continue
            ext = externals[rnd.randrange(len(externals))]
            ts = (now - dt.timedelta(seconds=rnd.randrange(1, 86_400))).astimezone(
                dt.timezone(dt.timedelta(hours=3))).isoformat(timespec="milliseconds")
            if n % 2:
                event = {"id": f"s{sender}-{n}", "external_id": ext, "metric": "traffic", "timestamp": ts,
                         "properties": {"gb": f"{rnd.randrange(1, 5000) / 100:.2f}", "region": "msk-1"}}
            else:
                event = {"id": f"s{sender}-{n}", "external_id": ext, "metric": "api_calls", "timestamp": ts,
                         "properties": {"endpoint": "/v1/compute", "status": 200}}
            n += 1
            sent.append(event)
            distinct.add((ext, event["id"]))
            batch.append(event)
        bodies.append(json.dumps(batch).encode())
    return bodies, distinct


def sender(sender_id: int, port: int, token: str, batches: int, size: int, externals: list[str],
           dup_share: float, barrier: Any, results: Any) -> None:
    try:
        bodies, distinct = make_batches(sender_id, batches, size, externals, dup_share, 1000 + sender_id)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    except BaseException as exc:
        barrier.abort()
        results.put({"status": "error", "sender": sender_id, "error": repr(exc)})
        raise
    barrier.wait(timeout=START_TIMEOUT)
    latencies = []
    counts = {"accepted": 0, "duplicates": 0, "refused": 0}
    t0 = time.perf_counter()
    try:
        for body in bodies:
            t = time.perf_counter()
            conn.request("POST", "/api/v1/usage/events/", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            latencies.append(time.perf_counter() - t)
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {data[:500]!r}")
            reply = json.loads(data)
            for k in counts:
                counts[k] += reply[k]
            if len(reply["results"]) != size:
                raise RuntimeError("a reply does not account for every event")
    except BaseException as exc:
        results.put({"status": "error", "sender": sender_id, "error": repr(exc)})
        raise
    t1 = time.perf_counter()
    conn.close()
    results.put({"status": "ok", "sender": sender_id, "t0": t0, "t1": t1, "latencies": latencies,
                 "counts": counts, "distinct": sorted(distinct)})


def run_senders(port: int, token: str, senders: int, batches: int, size: int, externals: list[str],
                dup_share: float, server_pid: int) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(senders + 1)
    results = ctx.Queue()
    per = [batches // senders + (1 if s < batches % senders else 0) for s in range(senders)]
    procs = [ctx.Process(target=sender, args=(s, port, token, per[s], size, externals, dup_share, barrier, results))
             for s in range(senders)]
    for p in procs:
        p.start()
    barrier.wait(timeout=START_TIMEOUT)
    cpu0 = (os.times(), _tree_cpu(server_pid), _postgres_cpu())
    out = []
    try:
        for _ in procs:
            item = results.get(timeout=START_TIMEOUT + 1800)
            if item["status"] != "ok":
                raise RuntimeError(f"sender {item['sender']} failed: {item['error']}")
            out.append(item)
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
                p.join()
    t_after = os.times()
    cpu1 = (t_after, _tree_cpu(server_pid), _postgres_cpu())
    sender_cpu = (t_after.children_user + t_after.children_system) - (cpu0[0].children_user + cpu0[0].children_system)
    return {"results": out, "server_cpu": cpu1[1] - cpu0[1], "pg_cpu": cpu1[2] - cpu0[2], "sender_cpu": sender_cpu}


def stored_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM usage_usageevent").fetchone()
    return int(row[0]) if row else 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--batches", type=int, default=300, help="batches in total (bounded)")
    parser.add_argument("--batch", type=int, default=1000, help="events per batch (at most 1000)")
    parser.add_argument("--senders", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--duplicates", type=float, default=0.10, help="share of events that repeat an id")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not 1 <= args.batch <= 1000:
        sys.exit("--batch must be 1..1000")

    dbname = recreate_database(args.database_url)
    print(f"database {dbname} recreated; migrating and creating {args.subscriptions} subscriptions …")
    token, externals = prepare(args.database_url, args.subscriptions)
    port = free_port()
    server = start_server(args.database_url, port, args.workers, args.threads)
    try:
        # one small warm-up batch per worker thread (imports, connections, plan cache)
        for i in range(args.workers * args.threads * 2):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            warm = [{"id": f"warm-{i}", "external_id": externals[i % len(externals)], "metric": "api_calls",
                     "timestamp": dt.datetime.now(dt.UTC).isoformat()}]  # noqa: TID251
            conn.request("POST", "/api/v1/usage/events/", body=json.dumps(warm),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            assert conn.getresponse().read()
            conn.close()
        warm_count = stored_count(args.database_url)
        run = run_senders(port, token, args.senders, args.batches, args.batch, externals, args.duplicates,
                          server.pid)
    finally:
        stop_server(server)

    results = run["results"]
    elapsed = max(r["t1"] for r in results) - min(r["t0"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    sent = len(latencies) * args.batch
    counts = {k: sum(r["counts"][k] for r in results) for k in ("accepted", "duplicates", "refused")}
    distinct: set[tuple[str, str]] = set()
    for r in results:
        distinct.update((a, b) for a, b in r["distinct"])
    stored = stored_count(args.database_url) - warm_count
    assert counts["refused"] == 0, f"{counts['refused']} events refused"
    assert sum(counts.values()) == sent, f"replies account for {sum(counts.values())} of {sent} events"
    assert stored == len(distinct), f"{stored} events stored, {len(distinct)} distinct ids sent"
    assert counts["accepted"] == len(distinct), f"{counts['accepted']} accepted, {len(distinct)} distinct ids"
    rate = sent / elapsed
    p50, p99, worst = (percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000,
                       max(latencies) * 1000)
    info = server_info(args.database_url)
    cpu_per_k = {k: run[k] * 1000 / sent * 1000 for k in ("sender_cpu", "server_cpu", "pg_cpu")}
    verdict = "met" if rate >= TARGET else "NOT met"

    print(f"\n{sent} events in {len(latencies)} batches of {args.batch} from {args.senders} senders in "
          f"{elapsed:.2f} s: {rate:,.0f} events/s (target {TARGET:,}: {verdict})")
    print(f"latency per batch: p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {worst:.0f} ms")
    print(f"accepted {counts['accepted']}, duplicates {counts['duplicates']}, stored {stored} = distinct ids "
          f"{len(distinct)}")
    print(f"CPU ms per 1000 events: senders {cpu_per_k['sender_cpu']:.1f}, gunicorn {cpu_per_k['server_cpu']:.1f}, "
          f"PostgreSQL {cpu_per_k['pg_cpu']:.1f}")

    today = dt.datetime.now(dt.UTC).date().isoformat()  # noqa: TID251 - the report's date
    print("\n--- Markdown for benchmarks/RESULTS.md ---\n")
    print(f"## Usage-event intake over HTTP — {today}\n")
    print(f"Command: `.venv/bin/python benchmarks/ingest.py --batches {args.batches} --senders {args.senders} "
          f"--subscriptions {args.subscriptions} --duplicates {args.duplicates}` (target: ≥ {TARGET:,} events/s "
          "sustained on this 2-core machine).\n")
    print(f"Machine: {os.cpu_count()} CPU, {platform.system()} {platform.release()}, Python "
          f"{platform.python_version()}; PostgreSQL {info['server_version']} on the same machine "
          f"(synchronous_commit={info['synchronous_commit']}, fsync={info['fsync']}, "
          f"shared_buffers={info['shared_buffers']}); gunicorn {args.workers} workers × {args.threads} threads, "
          f"{args.senders} sender processes on the same machine.")
    print(f"Data: {args.subscriptions} subscriptions, {len(latencies)} batches of {args.batch} events "
          f"({sent} events, {int(args.duplicates * 100)} % repeating an earlier id; half count events, half sum "
          f"events with two properties); {stored} events stored.\n")
    print("| events/s | batch p50 | batch p99 | batch max | accepted | duplicates | stored = distinct | "
          "CPU ms / 1000 events: senders / gunicorn / PostgreSQL |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {rate:,.0f} | {p50:.0f} ms | {p99:.0f} ms | {worst:.0f} ms | {counts['accepted']} | "
          f"{counts['duplicates']} | {stored} = {len(distinct)} | {cpu_per_k['sender_cpu']:.1f} / "
          f"{cpu_per_k['server_cpu']:.1f} / {cpu_per_k['pg_cpu']:.1f} |")
    print(f"\nResult: target {verdict} ({rate:,.0f} events/s).")


if __name__ == "__main__":
    main()
