"""The WSGI application sends the providers' notifications (``/gateways/``) through the short middleware
list — security headers only — and everything else through the full stack."""

from __future__ import annotations

import io
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from kopeck.wsgi import application


def call(path: str, method: str = "GET", body: bytes = b"", **headers: str) -> tuple[str, dict[str, str], bytes]:
    """A request to ``kopeck.wsgi.application`` as a WSGI server makes it; status, headers, body."""
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
                               "CONTENT_LENGTH": str(len(body)), "SERVER_NAME": "testserver",
                               "HTTP_HOST": "testserver"}
    environ.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()})
    if "HTTP_CONTENT_TYPE" in environ:
        environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE")
    setup_testing_defaults(environ)
    answer: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, dict(response_headers)

    # as Django's test client does: the request signals must not close the test's database connection
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


@pytest.mark.django_db
def test_a_provider_path_gets_the_security_headers_and_nothing_else() -> None:
    status, headers, content = call("/gateways/nosuch/1/", "POST", b"x=1")
    assert (status, content) == ("404 Not Found", b"unknown provider")
    assert headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware
    assert "Content-Security-Policy" not in headers and "Set-Cookie" not in headers and "Vary" not in headers


@pytest.mark.django_db
def test_any_other_path_gets_the_full_stack() -> None:
    status, headers, _content = call("/en/admin/login/")
    assert status == "200 OK"
    assert "Content-Security-Policy" in headers and "csrftoken" in headers["Set-Cookie"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Content-Language"] == "en"
