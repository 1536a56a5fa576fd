"""Tests that need a service: skipped where the service is absent — failed where it must be there.

A test that needs PostgreSQL carries the ``postgres`` marker, one that needs Redis the ``redis``
marker, one that drives a browser the ``browser`` marker (Chromium at ``KOPECK_CHROMIUM``, default
/usr/bin/chromium); this plugin (``pytest_plugins`` in tests/conftest.py) checks before each such test that its
services are there. When one is missing the test is skipped — unless ``KOPECK_TEST_SERVICES`` names
that service (comma-separated: ``postgresql``, ``redis``, ``chromium``), and then the test fails: ``.ci/run`` sets
it, so a CI run whose Redis did not come up, or whose PostgreSQL run somehow ran on SQLite, goes red
instead of green with tests quietly skipped. Tests skip only through here (a test in
tests/test_ci.py refuses ``pytest.skip`` anywhere else in the suite).

Redis is looked for at ``KOPECK_TEST_REDIS`` (``host:port``, default ``127.0.0.1:6379``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import pytest

MARKERS = {"postgres": "postgresql", "redis": "redis", "browser": "chromium"}
SERVICES = frozenset(MARKERS.values())
REASONS = {
    "postgresql": "needs PostgreSQL (this run's database is {vendor})",
    "redis": "needs Redis on {redis} (nothing answers there)",
    "chromium": "needs Chromium at {chromium} (apt-get install chromium)",
}


def chromium_path(environ: Mapping[str, str] = os.environ) -> str:
    """The distribution's Chromium that the browser tests drive (``KOPECK_CHROMIUM``)."""
    return environ.get("KOPECK_CHROMIUM", "/usr/bin/chromium")


def required_services(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The services this run must have (``KOPECK_TEST_SERVICES``); unknown names are refused."""
    names = frozenset(n.strip().lower() for n in environ.get("KOPECK_TEST_SERVICES", "").split(",") if n.strip())
    unknown = sorted(names - SERVICES)
    if unknown:
        raise pytest.UsageError(f"KOPECK_TEST_SERVICES: unknown service(s) {', '.join(unknown)} "
                                f"(known: {', '.join(sorted(SERVICES))})")
    return names


def redis_address(environ: Mapping[str, str] = os.environ) -> tuple[str, int]:
    host, _, port = environ.get("KOPECK_TEST_REDIS", "127.0.0.1:6379").rpartition(":")
    return host or "127.0.0.1", int(port)


def redis_url(db: int) -> str:
    host, port = redis_address()
    return f"redis://{host}:{port}/{db}"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(redis_address(), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def missing_services(needed: set[str], *, vendor: str, redis_answers: bool) -> list[str]:
    """Which of ``needed`` are not there, given the database vendor of this run and whether Redis answers."""
    missing = []
    if "postgresql" in needed and vendor != "postgresql":
        missing.append("postgresql")
    if "redis" in needed and not redis_answers:
        missing.append("redis")
    if "chromium" in needed and not os.access(chromium_path(), os.X_OK):
        missing.append("chromium")
    return missing


def verdict(missing: list[str], required: frozenset[str], *, vendor: str) -> tuple[str, str] | None:
    """``None`` when the test may run; else ``("fail" | "skip", reason)``."""
    if not missing:
        return None
    host, port = redis_address()
    reasons = "; ".join(REASONS[s].format(vendor=vendor, redis=f"{host}:{port}", chromium=chromium_path())
                        for s in missing)
    must = [s for s in missing if s in required]
    if must:
        return "fail", (f"{reasons} — and KOPECK_TEST_SERVICES says {', '.join(must)} must be there in this run, "
                        "so the test fails instead of being skipped")
    return "skip", reasons


def pytest_configure(config: pytest.Config) -> None:
    required_services()  # refuse a misspelt KOPECK_TEST_SERVICES before anything runs


def pytest_runtest_setup(item: pytest.Item) -> None:
    needed = {service for marker, service in MARKERS.items() if item.get_closest_marker(marker)}
    if not needed:
        return
    from django.db import connection

    vendor = connection.vendor
    missing = missing_services(needed, vendor=vendor, redis_answers="redis" in needed and _redis_answers())
    decision = verdict(missing, required_services(), vendor=vendor)
    if decision is None:
        return
    action, reason = decision
    if action == "fail":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
