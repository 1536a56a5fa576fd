from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from kopeck.celery import app
from kopeck.cli import gunicorn_conf
from kopeck.cli.scheduler import PERIODIC_TASKS, InProcessScheduler, beat_schedule, run_task


def test_beat_schedule_lists_every_periodic_task() -> None:
    assert set(beat_schedule()) == set(PERIODIC_TASKS)
    assert {v["task"] for v in beat_schedule().values()} == set(PERIODIC_TASKS)


def test_run_task_runs_in_process_and_skips_unknown_names(caplog: pytest.LogCaptureFixture) -> None:
    assert run_task("kopeck.ping") == "pong"
    with caplog.at_level(logging.WARNING, logger="kopeck.scheduler"):
        assert run_task("kopeck.no_such_task") is None
    assert "kopeck.no_such_task is not registered" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_thread_runs_each_task_then_stops() -> None:
    ran = threading.Event()

    @app.task(name="kopeck.tests.tick")
    def tick() -> str:
        ran.set()
        return "ok"

    scheduler = InProcessScheduler({"kopeck.tests.tick": 3600}, first_delay=0)
    scheduler.start()
    assert ran.wait(10)
    scheduler.stop()
    scheduler.join(5)
    assert not scheduler.is_alive()


class FakeServer:
    def __init__(self) -> None:
        self.messages: list[str] = []
        self.log = self

    def info(self, message: str, *args: Any) -> None:
        self.messages.append(message % args)


class FakeProcess:
    pid = 4242

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.terminated = False

    def poll(self) -> None:
        return None

    def terminate(self) -> None:
        self.terminated = True

    def wait(self, timeout: float) -> int:
        return 0


def test_gunicorn_starts_a_scheduler_process_only_without_a_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[FakeProcess] = []

    def popen(argv: list[str]) -> FakeProcess:
        started.append(FakeProcess(argv))
        return started[-1]

    monkeypatch.setattr(gunicorn_conf.subprocess, "Popen", popen)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    gunicorn_conf.when_ready(FakeServer())
    assert started == []
    monkeypatch.delenv("CELERY_BROKER_URL")
    monkeypatch.setenv("KOPECK_SCHEDULER", "off")
    gunicorn_conf.when_ready(FakeServer())
    assert started == []
    monkeypatch.delenv("KOPECK_SCHEDULER")
    server = FakeServer()
    gunicorn_conf.when_ready(server)
    assert len(started) == 1 and "main(['scheduler'])" in started[0].argv[-1]
    assert "scheduler started" in server.messages[0]
    gunicorn_conf.on_exit(server)
    assert started[0].terminated
