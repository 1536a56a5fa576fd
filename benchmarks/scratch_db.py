"""Shared by the PostgreSQL benchmarks: a scratch database and the server settings to report."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def recreate_database(database_url: str) -> str:
    """Drop and create the scratch database of ``database_url``; its name must contain "bench", so a
    mistyped URL cannot wipe a real database."""
    params = conninfo_to_dict(database_url)
    dbname = str(params.get("dbname") or "")
    if "bench" not in dbname:
        sys.exit(f"refusing to drop database {dbname!r}: a scratch database name must contain 'bench'")
    admin = make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    return dbname


def server_info(database_url: str) -> dict[str, str]:
    with psycopg.connect(database_url) as conn:
        info = {}
        for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers"):
            row = conn.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            info[name] = str(row[0]) if row else "?"
        return info


def bench_env(database_url: str, root: Path, secret: str) -> dict[str, str]:
    """The environment of a benchmark's Kopeck processes (server, workers, helpers)."""
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "kopeck.settings",
                "KOPECK_VAR_DIR": str(root / "var"), "KOPECK_SECRET_KEY": secret,
                "KOPECK_DB_CONN_MAX_AGE": "600", "KOPECK_LOG_LEVEL": "ERROR",
                "PYTHONPATH": str(root / "src")})
    return env
