"""Events through business rules, and webhook deliveries, on PostgreSQL.

Usage::

    .venv/bin/python benchmarks/rules.py [--events N] [--rules R] [--deliveries D] [--workers W]
                                         [--database-url URL]

What it does, all on this machine and in bounded loops:

1. drops and recreates the scratch database (default ``kopeck_bench_rules``; its name must contain
   "bench"), runs the migrations, creates 200 clients (half tagged ``vip``);
2. **rules**: creates ``--rules`` (100) enabled rules, each triggered by every event type the benchmark
   records (so every event goes through all of them), with CEL conditions over the payload, the client
   and the variables (``double(event.data.balance) < double(vars.limit_1) && "vip" in client.tags``…);
   one event in a hundred matches one rule, whose action queues an e-mail (an outbox row in a savepoint);
   records ``--events`` (20,000) ``balance.low`` / ``client.changed`` events in bulk (not timed), then times
   the dispatcher (``events_dispatch_all``, batches of 500 claimed from the queue of events to process) in
   this one process: conditions compiled once (a cache), each event's context built once, one
   execution-log row per event; at the end the queue is empty. Reports events/s, the
   process's CPU time per event, and the conditions evaluated;
3. **webhooks**: a receiver on loopback (its own process, HTTP/1.1 keep-alive, answers 200), one endpoint
   (loopback allowed explicitly for the benchmark), ``--deliveries`` (5,000) pending deliveries; starts
   ``--workers`` (2) worker processes, waits until each has loaded Django and connected, then lets them
   run ``webhooks_deliver_all`` until nothing is due and times from that moment to the last delivery; checks that every delivery is delivered once and that the
   receiver got every event;
4. prints a table and the Markdown lines for ``benchmarks/RESULTS.md``.

Targets (issue 14): ≥ 5,000 events/s through 100 rules on one core; ≥ 500 webhook deliveries/s with
2 workers.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scratch_db import bench_env, recreate_database, server_info  # benchmarks/ is on sys.path as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kopeck_bench_rules"

RECEIVER = r'''
# A minimal HTTP/1.1 receiver (asyncio, keep-alive): reads each request by its Content-Length and answers
# 200 — so the benchmark measures Kopeck's workers, not a slow receiver. GET answers the count received.
import asyncio
count = 0
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""
    def data_received(self, data):
        global count
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            if head.startswith("get"):
                body = str(count).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            else:
                count += 1
                self.transport.write(OK)
async def main():
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
'''


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def migrate(env: dict[str, str]) -> None:
    subprocess.run([str(ROOT / ".venv" / "bin" / "kopeck"), "migrate", "-v", "0"], env=env, check=True)


def make_clients(n: int) -> list[int]:
    from kopeck.clients.models import Client, Tag
    from kopeck.common import clock

    now = clock.now()
    clients = Client.objects.bulk_create([Client(type="legal", name=f"ООО «Бенч {i}»", currency="RUB",
                                                 fields={"full_name": f"ООО «Бенч {i}»"}, created_at=now,
                                                 updated_at=now) for i in range(n)])
    vip = Tag.objects.create(name="vip")
    for c in clients[::2]:
        c.tags.add(vip)
    return [c.pk for c in clients]


def make_rules(count: int) -> None:
    from kopeck.common.actor import Actor
    from kopeck.documents.services import variable_set
    from kopeck.rules.services import rule_create

    actor = Actor.system("bench")
    for i in range(10):
        variable_set(actor=actor, code=f"limit_{i}", value=str(100 * (i + 1)))
    for i in range(count):
        limit = i % 10
        kind = i % 4
        if i == 0:  # the one rule that matches one event in a hundred
            condition = 'event.type == "balance.low" && double(event.data.balance) > 0.0'
            actions: list[dict[str, Any]] = [{"type": "notify", "to": ["ops@provider.example"],
                                              "subject": "Низкий баланс: {{ client.name }}",
                                              "body": "Баланс {{ event.data.balance }} {{ event.data.currency }}."}]
        elif kind == 0:
            condition = (f'event.type == "balance.low" && double(event.data.balance) < -1000.0 - '
                         f'double(vars.limit_{limit}) && "vip" in client.tags')
            actions = [{"type": "add_tag", "tag": f"debtor-{limit}"}]
        elif kind == 1:
            condition = f'client.name.startsWith("ООО «Бенч {1000 + i}") && has(event.data.client)'
            actions = [{"type": "block_client"}]
        elif kind == 2:
            condition = f'event.type == "client.changed" && "tag-{i}" in event.data.changed'
            actions = [{"type": "add_tag", "tag": f"seen-{i}"}]
        else:
            condition = f'client.tags.exists(t, t == "gold-{i}") || client.fields.full_name == "никто {i}"'
            actions = [{"type": "remove_tag", "tag": "vip"}]
        rule_create(actor=actor, name=f"Правило {i}", triggers=["balance.low", "client.changed"], condition=condition,
                    actions=actions, priority=i, is_enabled=True)


def record_events(client_ids: list[int], n: int) -> None:
    from django.db import transaction

    from kopeck.common.actor import Actor
    from kopeck.events.services import NewEvent, event_record_many

    actor = Actor.system("bench")
    batch: list[NewEvent] = []
    for i in range(n):
        cid = client_ids[i % len(client_ids)]
        if i % 2 == 0:
            balance = "5.00" if i % 100 == 0 else f"{-50 - i % 700}.00"
            batch.append(NewEvent("balance.low", {"balance": balance, "currency": "RUB", "threshold": "100.00"},
                                  client_id=cid))
        else:
            batch.append(NewEvent("client.changed", {"client": {"id": cid, "type": "legal", "name": f"c{cid}",
                                                                "status": "active", "currency": "RUB"},
                                                     "changed": ["name"]}, client_id=cid))
        if len(batch) == 5000:
            with transaction.atomic():
                event_record_many(batch, actor=actor)
            batch = []
    if batch:
        with transaction.atomic():
            event_record_many(batch, actor=actor)


def bench_rules(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from kopeck.events.models import PendingEvent
    from kopeck.events.services import events_dispatch_all
    from kopeck.outbox.models import OutboxMessage
    from kopeck.rules.models import RuleExecution

    clients = make_clients(200)
    make_rules(args.rules)
    record_events(clients, args.events)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    events_dispatch_all(limit=500, max_batches=1)  # warm up: compile the conditions, load the rules
    warm = RuleExecution.objects.count()
    cpu0, t0 = time.process_time(), time.perf_counter()
    totals = events_dispatch_all(limit=500)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    processed = totals["processed"]
    executions = RuleExecution.objects.count() - warm
    assert totals["failed"] == 0, totals
    assert not PendingEvent.objects.exists()
    sample = list(RuleExecution.objects.values_list("results", flat=True)[:1000])
    evaluated = sum(r[-1].get("evaluated", 0) for r in sample) / max(len(sample), 1)
    return {"events": processed, "wall": wall, "cpu": cpu, "per_s": processed / wall,
            "cpu_per_event_ms": cpu / processed * 1000, "executions": executions,
            "conditions_per_event": evaluated, "mails": OutboxMessage.objects.filter(topic="email.send").count()}


def worker_main() -> None:
    import django

    django.setup()
    from django.db import connection

    from kopeck.webhooks.services import webhooks_deliver_all

    connection.ensure_connection()
    print("ready", flush=True)  # Python and Django are loaded: the timing starts when all workers are
    sys.stdin.readline()
    cpu = time.process_time()
    counts = webhooks_deliver_all(limit=100)
    print({**counts, "cpu_s": round(time.process_time() - cpu, 2)}, flush=True)


def bench_webhooks(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    import urllib.request

    from django.db import transaction

    from kopeck.common.actor import Actor
    from kopeck.events.models import Event
    from kopeck.webhooks.models import Delivery, DeliveryStatus, Endpoint
    from kopeck.webhooks.services import _insert_deliveries, endpoint_create

    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        endpoint, _secret = endpoint_create(actor=Actor.system("bench"), url=f"http://127.0.0.1:{port}/hooks",
                                            event_types=[])
        events = list(Event.objects.order_by("id")[:args.deliveries])
        with transaction.atomic():
            _insert_deliveries([(endpoint.pk, e) for e in events])
        worker_env = dict(env)
        workers = [subprocess.Popen([sys.executable, __file__, "--worker"], env=worker_env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True) for _ in range(args.workers)]
        for w in workers:  # started and connected (Python's and Django's start-up is not timed)
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        t0 = time.perf_counter()
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        outputs = []
        for w in workers:
            assert w.stdout is not None and w.stdin is not None
            outputs.append(w.stdout.read().strip())
            w.stdin.close()
            w.wait(600)
        wall = time.perf_counter() - t0
        delivered = Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DELIVERED).count()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as answer:
            received = int(answer.read())
        assert delivered == len(events), (delivered, len(events), outputs)
        assert received >= delivered
        assert Endpoint.objects.filter(pk=endpoint.pk, is_enabled=True).exists()
        return {"deliveries": delivered, "received": received, "wall": wall, "per_s": delivered / wall,
                "workers": outputs}
    finally:
        receiver.terminate()
        receiver.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--deliveries", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return
    root = Path(tempfile.mkdtemp(prefix="kopeck-bench-rules-"))
    env = bench_env(args.database_url, ROOT, secrets.token_urlsafe(32))
    env["KOPECK_VAR_DIR"] = str(root / "var")
    env["KOPECK_WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the receiver is on loopback: allowed explicitly
    recreate_database(args.database_url)
    migrate(env)
    setup_django(env)
    rules = bench_rules(args)
    hooks = bench_webhooks(args, env)
    info = server_info(args.database_url)
    print(f"rules: {rules['events']} events through {args.rules} rules in {rules['wall']:.2f} s: "
          f"{rules['per_s']:.0f} events/s (target ≥ 5,000); CPU {rules['cpu_per_event_ms']:.3f} ms/event in this "
          f"process; {rules['conditions_per_event']:.0f} conditions per event; {rules['mails']} e-mails queued")
    print(f"webhooks: {hooks['deliveries']} deliveries with {args.workers} workers in {hooks['wall']:.2f} s: "
          f"{hooks['per_s']:.0f} deliveries/s (target ≥ 500); the receiver got {hooks['received']}; workers: "
          f"{hooks['workers']}")
    print(f"load average during the run: {os.getloadavg()}")
    print()
    print(f"Machine: {os.cpu_count()} CPU, {platform.system()} {platform.release()}, Python {platform.python_version()}; "
          f"PostgreSQL {info['server_version']} (synchronous_commit={info['synchronous_commit']}).")
    print(f"| events through {args.rules} rules | {rules['events']} | {rules['wall']:.2f} s | "
          f"{rules['per_s']:.0f}/s | CPU {rules['cpu_per_event_ms']:.3f} ms/event |")
    print(f"| webhook deliveries, {args.workers} workers | {hooks['deliveries']} | {hooks['wall']:.2f} s | "
          f"{hooks['per_s']:.0f}/s | |")


if __name__ == "__main__":
    main()
