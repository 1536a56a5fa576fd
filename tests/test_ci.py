"""CI stops when a service did not start, and a test that needs a missing service fails, not skips.

``.ci/run`` is run with fake ``pg_isready``, ``redis-cli``, ``make``… first on the PATH (no real
service is touched); the skip-or-fail rule of tests/required_services.py is checked on its own and
on real test files run in a child pytest on SQLite.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.required_services import missing_services, redis_address, required_services, verdict

ROOT = Path(__file__).resolve().parents[1]


# -- .ci/run ----------------------------------------------------------------------------------------


def _fake_bin(tmp_path: Path, *, postgres: bool, redis: bool) -> tuple[Path, Path]:
    """A directory of fake commands for .ci/run, and the log of the ``make`` calls."""
    bin_dir, log = tmp_path / "bin", tmp_path / "make.log"
    bin_dir.mkdir()
    scripts = {
        "pg_isready": f"exit {0 if postgres else 2}",
        "pg_ctlcluster": "exit 1",  # starting does not help
        "redis-cli": 'echo PONG' if redis else "exit 1",
        "redis-server": "exit 1",
        "psql": 'case "$*" in *SELECT*) echo 1;; esac',
        "make": f'echo "${{KOPECK_TEST_SERVICES:-}}|${{DATABASE_URL:-}}|$*" >> {log}',
        # Where Chromium is not installed yet, .ci/run installs it; no real package is touched here.
        "apt-get": "exit 0",
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/usr/bin/env bash\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return bin_dir, log


def _ci_run(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KOPECK_TEST_SERVICES")}
    env.update(PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", KOPECK_CI_SERVICE_WAIT="1")
    return subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.parametrize(("postgres", "redis", "missing"), [(False, True, "PostgreSQL"), (True, False, "Redis"),
                                                            (False, False, "PostgreSQL")])
def test_ci_stops_before_the_tests_when_a_service_did_not_start(tmp_path: Path, postgres: bool, redis: bool,
                                                                missing: str) -> None:
    bin_dir, log = _fake_bin(tmp_path, postgres=postgres, redis=redis)
    done = _ci_run(bin_dir)
    assert done.returncode == 1
    assert f"ERROR: {missing} did not start within 1 s" in done.stderr
    assert not log.exists()  # no test suite ran


def test_ci_runs_both_suites_requiring_their_services(tmp_path: Path) -> None:
    bin_dir, log = _fake_bin(tmp_path, postgres=True, redis=True)
    done = _ci_run(bin_dir)
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        "redis,chromium||test",
        "postgresql,redis,chromium|postgres://postgres@127.0.0.1:5432/kopeck_ci|test",
    ]


# -- skip or fail ----------------------------------------------------------------------------------


def test_required_services_come_from_the_environment() -> None:
    assert required_services({}) == frozenset()
    assert required_services({"KOPECK_TEST_SERVICES": " PostgreSQL , redis,"}) == {"postgresql", "redis"}
    with pytest.raises(pytest.UsageError, match=r"unknown service\(s\) rabbitmq"):
        required_services({"KOPECK_TEST_SERVICES": "redis,rabbitmq"})


def test_a_missing_service_skips_unless_the_run_requires_it() -> None:
    assert missing_services({"postgresql", "redis"}, vendor="postgresql", redis_answers=True) == []
    assert missing_services({"postgresql"}, vendor="sqlite", redis_answers=False) == ["postgresql"]
    assert missing_services({"postgresql", "redis"}, vendor="sqlite", redis_answers=False) == ["postgresql", "redis"]
    assert verdict([], frozenset({"postgresql", "redis"}), vendor="postgresql") is None
    assert verdict(["postgresql"], frozenset(), vendor="sqlite") == (
        "skip", "needs PostgreSQL (this run's database is sqlite)")
    assert verdict(["postgresql"], frozenset({"redis"}), vendor="sqlite")[0] == "skip"  # type: ignore[index]
    action, reason = verdict(["redis"], frozenset({"redis"}), vendor="sqlite")  # type: ignore[misc]
    host, port = redis_address()
    assert action == "fail"
    assert reason.startswith(f"needs Redis on {host}:{port} (nothing answers there) — and KOPECK_TEST_SERVICES says "
                             "redis must be there")


def _child_pytest(tmp_path: Path, test: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``test`` run by a child pytest on SQLite with ``env`` added."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "KOPECK_TEST_SERVICES", "KOPECK_TEST_REDIS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
                          env={**base, "KOPECK_VAR_DIR": str(tmp_path), **env}, cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


def test_a_postgresql_test_skips_on_sqlite_but_fails_when_postgresql_is_required(tmp_path: Path) -> None:
    test = "tests/ledger/test_append_only.py"
    skipped = _child_pytest(tmp_path, test)
    assert skipped.returncode == 0, skipped.stdout
    assert "needs PostgreSQL (this run's database is sqlite)" in skipped.stdout
    assert re.search(r"^1 skipped in ", skipped.stdout, re.M)
    failed = _child_pytest(tmp_path, test, KOPECK_TEST_SERVICES="postgresql")
    assert failed.returncode == 1, failed.stdout
    assert "KOPECK_TEST_SERVICES says postgresql must be there in this run" in failed.stdout
    assert re.search(r"^1 error in ", failed.stdout, re.M)


def test_a_redis_test_fails_when_redis_is_required_and_does_not_answer(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    test = "tests/common/test_tasks.py::test_a_real_worker_runs_tasks_from_redis"
    skipped = _child_pytest(tmp_path, test, KOPECK_TEST_REDIS=f"127.0.0.1:{port}")
    assert skipped.returncode == 0 and re.search(r"^1 skipped in ", skipped.stdout, re.M), skipped.stdout
    failed = _child_pytest(tmp_path, test, KOPECK_TEST_REDIS=f"127.0.0.1:{port}", KOPECK_TEST_SERVICES="redis")
    assert failed.returncode == 1, failed.stdout
    assert f"needs Redis on 127.0.0.1:{port} (nothing answers there)" in failed.stdout
    assert "KOPECK_TEST_SERVICES says redis must be there in this run" in failed.stdout


def test_tests_skip_only_through_the_service_markers() -> None:
    skip = re.compile(r"pytest\s*\.\s*(skip|importorskip)\b|mark\s*\.\s*skip(if)?\b|unittest\.skip")
    allowed = {Path(__file__), ROOT / "tests" / "required_services.py"}
    offenders = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "tests").rglob("*.py"))
                 if path not in allowed and skip.search(path.read_text(encoding="utf-8"))]
    assert offenders == [], "skip through the postgres/redis markers (tests/required_services.py)"
