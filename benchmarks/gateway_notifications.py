"""Verified gateway notifications per second over HTTP (issue 16; target ≥ 500/s on 2 cores, p99 ≤ 100 ms,
duplicates never credited).

A scratch PostgreSQL database gets ``--payments`` pending CloudPayments orders (one client each, cycling
over ``--clients``); ``kopeck serve`` (gunicorn, ``--workers`` × ``--threads``, the embedded default: no
Celery broker) receives a CloudPayments ``Pay`` notification for every order — signed with Content-HMAC
over the raw body — plus 10 % copies of already-sent ones, in random order, from ``--connections``
keep-alive connections. Each is verified, checked against its order and stored (``queued``, or
``duplicate`` when the unique index refuses a copy) and answered ``{"code":0}``; the settlement thread of
each server process credits the queued ones in batches (a kopeck.payments payment, its ledger posting
and allocation) while the load goes on.

``--settle celery`` puts the settlement in a Celery worker process instead (a broker configured: the
server sends ``kopeck.gateways.settle`` when a notification is stored, at most once per 0.1 s per process);
``--settle after`` settles nothing during the load, then once at the end (the request path alone).

Two figures, both reported:

* **provider-facing**: notifications answered per second and the latency the provider waits for (what
  the issue's target is about);
* **settled**: the time from the first notification until every order is credited (no notification
  left queued), so the worker's pace is visible too.

At the end the database must hold exactly one credit per order and no credit for a duplicate.

    .venv/bin/python benchmarks/gateway_notifications.py --payments 5000
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import http.client
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from scratch_db import bench_env, recreate_database, server_info  # benchmarks/ is on sys.path as a script

ROOT = Path(__file__).resolve().parents[1]
API_SECRET = "bench-cp-api-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(payments: int, clients: int) -> tuple[int, list[str]]:
    """The setting and the pending orders, written directly (the setup is not what is measured)."""
    import django

    django.setup()
    from kopeck.clients.models import Client
    from kopeck.common.actor import Actor
    from kopeck.common.clock import now
    from kopeck.gateways.models import GatewayPayment, GatewaySetting, PaymentStatus
    from kopeck.gateways.services import setting_save

    at = now()
    setting = setting_save(actor=Actor.system("bench"), setting=GatewaySetting(
        provider="cloudpayments", name="bench", is_live=False, options={"public_id": "pk_bench"}),
        credentials={"api_secret": API_SECRET})
    Client.objects.bulk_create([Client(type="legal", name=f"ООО «Клиент {i}»", currency="RUB", fields={},
                                       search_text=f"клиент {i}", created_at=at, updated_at=at)
                                for i in range(clients)], batch_size=2000)
    ids = list(Client.objects.order_by("id").values_list("id", flat=True))
    orders = [secrets.token_hex(16) for _ in range(payments)]
    GatewayPayment.objects.bulk_create([GatewayPayment(
        setting=setting, client_id=ids[i % len(ids)], order_id=order, amount_minor=150000, currency="RUB",
        description="bench", status=PaymentStatus.PENDING, is_test=True, created_by="bench", created_at=at,
        updated_at=at) for i, order in enumerate(orders)], batch_size=2000)
    return setting.pk, orders


def body_of(order: str, txn: int, when: str) -> tuple[bytes, str]:
    fields = {"TransactionId": str(txn), "Amount": "1500.00", "Currency": "RUB", "DateTime": when,
              "CardFirstSix": "424242", "CardLastFour": "4242", "CardType": "Visa", "TestMode": "1",
              "Status": "Completed", "OperationType": "Payment", "InvoiceId": order, "AccountId": "1"}
    body = urllib.parse.urlencode(fields).encode()
    return body, base64.b64encode(hmac.new(API_SECRET.encode(), body, hashlib.sha256).digest()).decode()


def fire(port: int, path: str, bodies: list[tuple[bytes, str]], connections: int) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    cursor = iter(range(len(bodies)))

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            body, mac = bodies[i]
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                                "Content-HMAC": mac})
                res = conn.getresponse()
                data = res.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                with lock:
                    failures.append(repr(exc))
                continue
            mine.append(time.perf_counter() - started)
            if res.status != 200 or data != b'{"code": 0}':
                with lock:
                    failures.append(f"{res.status} {data[:100]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures


def cpu_seconds(database: str) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the processes of this run, by role: the server (gunicorn
    master and workers), the database (PostgreSQL backends of the scratch database, and its writers), and
    this process (the load generator). A process that has exited is not counted: read while all live."""
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    totals = {"server": 0.0, "database": 0.0, "load generator": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick
        if int(entry.name) == me:
            totals["load generator"] += used
        elif "celery" in cmdline and "worker" in cmdline and "kopeck.celery" in cmdline:
            totals["celery worker"] = totals.get("celery worker", 0.0) + used
        elif "gunicorn" in cmdline and "kopeck.wsgi" in cmdline:
            totals["server"] += used
            totals[f"server process {entry.name}"] = used
        elif cmdline.startswith("postgres: ") and (database in cmdline or "walwriter" in cmdline
                                                   or "checkpointer" in cmdline or "background writer" in cmdline):
            totals["database"] += used
    return totals


def wait_settled(started: float, timeout: float) -> tuple[float, int]:
    """Seconds from ``started`` until no notification is queued (the settlement worker is done), and
    how many are left queued when ``timeout`` passed first."""
    from kopeck.gateways.models import Notification

    deadline = time.perf_counter() + timeout
    while True:
        left = Notification.objects.filter(verdict="queued").count()
        if not left or time.perf_counter() > deadline:
            return time.perf_counter() - started, left
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--settle", choices=("thread", "after", "celery"), default="thread",
                        help="thread: the embedded default (each server process settles while the load goes on); "
                             "after: nothing is settled during the load (the request path alone), then one worker "
                             "in this process settles everything (the worker's pace alone); celery: a broker "
                             "(--broker) and one Celery worker process (solo pool) settle during the load")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15", help="the broker of --settle celery")
    parser.add_argument("--settle-timeout", type=float, default=600.0, help="seconds to wait for the settlement")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kopeck_bench_gateways"))
    args = parser.parse_args()

    recreate_database(args.database_url)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"kopeck-bench-gw-{os.getpid()}"
    (work / "var").mkdir(parents=True, exist_ok=True)
    env = bench_env(args.database_url, ROOT, "bench-" + secrets.token_hex(16))
    env.update({"KOPECK_VAR_DIR": str(work / "var"), "KOPECK_SCHEDULER": "off",
                "KOPECK_GATEWAY_SETTLE": {"after": "off", "thread": "thread", "celery": "celery"}[args.settle]})
    if args.settle == "celery":
        env["CELERY_BROKER_URL"] = args.broker
    os.environ.update(env)
    subprocess.run([str(ROOT / ".venv" / "bin" / "kopeck"), "migrate", "-v", "0"], env=env, check=True)
    setting_id, orders = prepare(args.payments, args.clients)

    from kopeck.common.clock import now

    when = now().astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")  # the provider's signed send time
    firsts = [body_of(order, 1_000_000 + i, when) for i, order in enumerate(orders)]
    rng = random.Random(16)
    copies = [firsts[rng.randrange(len(firsts))] for _ in range(int(len(firsts) * args.duplicates))]
    bodies = list(firsts)
    for copy in copies:  # each copy somewhere after a first send is likely
        bodies.insert(rng.randrange(len(bodies) // 2, len(bodies) + 1), copy)

    port = free_port()
    worker = None
    if args.settle == "celery":  # one worker process, one task at a time (the task settles in batches itself)
        worker = subprocess.Popen([str(ROOT / ".venv" / "bin" / "celery"), "-A", "kopeck.celery", "worker", "--pool",
                                   "solo", "--concurrency", "1", "--without-gossip", "--without-mingle",
                                   "--without-heartbeat", "--purge", "--loglevel", "WARNING"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "kopeck"), "serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", str(args.workers), "--threads", str(args.threads)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        path = f"/gateways/cloudpayments/{setting_id}/pay/"
        fire(port, path, [body_of(secrets.token_hex(16), 1, when)] * 20, 4)  # warm the workers (unknown orders)
        load_before = os.getloadavg()
        dbname = args.database_url.rsplit("/", 1)[-1]
        cpu_before = cpu_seconds(dbname)
        started = time.perf_counter()
        latencies, failures = fire(port, path, bodies, args.connections)
        wall = time.perf_counter() - started
        cpu_after = cpu_seconds(dbname)
        load_after = os.getloadavg()
        if args.settle == "after":
            from kopeck.gateways.notifications import notifications_settle

            worker_started = time.perf_counter()
            notifications_settle(max_batches=10**6)
            worker_wall = time.perf_counter() - worker_started
        settled_after, left = wait_settled(started, args.settle_timeout)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)

    from django.db.models import Count

    from kopeck.gateways.models import GatewayPayment, Notification
    from kopeck.payments.models import Payment

    credited = GatewayPayment.objects.filter(status="succeeded").count()
    payments = Payment.objects.filter(method="cloudpayments").count()
    twice = Payment.objects.values("external_id").annotate(n=Count("id")).filter(n__gt=1).count()
    verdicts = dict(Notification.objects.exclude(kind="pay", transaction_id="1").values_list("verdict").annotate(
        n=Count("id")).values_list("verdict", "n"))
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    info = server_info(args.database_url)
    print(f"provider-facing: {len(bodies)} notifications ({len(copies)} duplicates) over {args.connections} "
          f"connections to {args.workers} workers × {args.threads} threads: {wall:.2f} s, "
          f"{len(bodies) / wall:.0f} verified and answered/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    if args.settle == "after":
        print(f"settled afterwards by one worker: {len(bodies) - len(copies)} queued notifications in "
              f"{worker_wall:.2f} s ({(len(bodies) - len(copies)) / worker_wall:.0f} credits/s), left queued {left}")
    else:
        print(f"settled: all {len(orders)} orders credited {settled_after:.2f} s after the first notification "
              f"({len(orders) / settled_after:.0f} credits/s; {settled_after - wall:.2f} s after the last answer), "
              f"left queued {left}")
    print(f"credited orders {credited}/{len(orders)}, payments {payments}, payments credited twice {twice}, "
          f"verdicts {verdicts}, failures {len(failures)} {failures[:3]}")
    roles = [role for role in cpu_after if not role.startswith("server process")]
    print("CPU per notification during the load: " + ", ".join(
        f"{role} {(cpu_after[role] - cpu_before.get(role, 0.0)) / len(bodies) * 1000:.2f} ms" for role in roles)
        + f" (wall {wall / len(bodies) * 1000:.2f} ms × {os.cpu_count()} cores)")
    shares = sorted((cpu_after[r] - cpu_before.get(r, 0.0) for r in cpu_after if r.startswith("server process")),
                    reverse=True)
    print("CPU seconds of each server process during the load (the master first, idle): "
          + ", ".join(f"{s:.2f}" for s in sorted(shares)))
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; cores {os.cpu_count()}; "
          f"PostgreSQL {info['server_version']} (synchronous_commit={info['synchronous_commit']})")
    ok = credited == len(orders) == payments and twice == 0 and not failures and not left \
        and verdicts.get("accepted") == len(orders) and verdicts.get("duplicate") == len(copies)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
