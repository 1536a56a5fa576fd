"""Finding 6 of issue 12: the errors the server answers itself (gunicorn, before Kopeck runs) are
problem+json too — a header or a request line over its limits."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def request(sock_path: Path, raw: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(str(sock_path))
        s.sendall(raw)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp_path = tmp_path_factory.mktemp("server")
    sock = tmp_path / "kopeck.sock"
    env = {**os.environ, "KOPECK_VAR_DIR": str(tmp_path), "KOPECK_SCHEDULER": "off",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    proc = subprocess.Popen([sys.executable, "-c", "from kopeck.cli import main; main()", "serve", "--bind",
                             f"unix:{sock}", "--workers", "1", "--threads", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if sock.exists():
                break
            time.sleep(0.1)
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def split(response: bytes) -> tuple[str, dict[str, str], dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, json.loads(body)


def test_a_header_over_gunicorns_limit_is_a_problem(server: Path) -> None:
    status, headers, body = split(request(server, b"GET /api/v1/clients/ HTTP/1.1\r\nHost: x\r\nX-Big: "
                                          + b"a" * 9000 + b"\r\n\r\n"))
    assert status.startswith("HTTP/1.1 4")
    assert headers["Content-Type"] == "application/problem+json"
    assert body["status"] == int(status.split()[1]) and str(body["type"]).startswith("urn:kopeck:problem:")


def test_a_request_line_over_the_limit_is_a_problem(server: Path) -> None:
    status, headers, body = split(request(server, b"GET /api/v1/clients/?q=" + b"a" * 9000
                                          + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert status == "HTTP/1.1 414 URI Too Long"
    assert headers["Content-Type"] == "application/problem+json"
    assert body == {"type": "urn:kopeck:problem:uri-too-long", "title": "URI Too Long", "status": 414,
                    "detail": body["detail"]}
