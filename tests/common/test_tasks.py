"""Celery: the embedded default runs tasks in-process; a real worker runs them from a broker."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from kopeck.celery import app
from kopeck.common.models import IdempotencyRecord
from kopeck.common.tasks import idempotency_purge, ping
from kopeck.core.clock import FixedClock
from tests.required_services import redis_url

ROOT = Path(__file__).resolve().parents[2]


def test_tasks_run_in_process_without_a_broker() -> None:
    assert app.conf.task_always_eager is True
    assert ping.delay("hello").get(timeout=1) == "hello"


@pytest.mark.django_db
def test_idempotency_purge_forgets_old_keys(clock: FixedClock) -> None:
    def record(key: str, age_days: int) -> None:
        IdempotencyRecord.objects.create(principal="p", key=key, method="POST", path="/", request_hash="h",
                                         status_code=201, response_body=b"{}", content_type="application/json",
                                         created_at=clock.now() - dt.timedelta(days=age_days))

    record("old", 31)
    record("new", 29)
    assert idempotency_purge.delay().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.celery_worker
@pytest.mark.redis
def test_a_real_worker_runs_tasks_from_redis(tmp_path: Path) -> None:
    db = uuid.uuid4().int % 15 + 1
    url = redis_url(db)
    env = {**os.environ, "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url, "KOPECK_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "kopeck.celery", "worker", "--pool=solo", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", f"q{db}", "-l", "WARNING"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        code = (
            "import django\n"
            "django.setup()\n"
            "from kopeck.common.tasks import ping\n"
            f"r = ping.apply_async(args=['from-worker'], queue='q{db}')\n"
            "print(r.get(timeout=60))\n"
        )
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                             timeout=90, check=False)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == "from-worker"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
