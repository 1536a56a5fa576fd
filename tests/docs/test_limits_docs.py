"""Finding 10 of issue 12: each limit is stated once (settings), and the docs state the same values."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_documented_limits_are_the_enforced_ones() -> None:
    table = (DOCS / "settings.md").read_text()
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2 * 1024 * 1024
    assert "| `KOPECK_MAX_BODY_BYTES` | `2097152` (2 MiB) |" in table
    assert "| Request body (`KOPECK_MAX_BODY_BYTES`, *env*) | 2 MiB |" in table
    assert settings.KOPECK_MAX_HEADER_BYTES == 16 * 1024 and "KOPECK_MAX_HEADER_BYTES`) | 16 KiB" in table
    assert settings.KOPECK_JSON_MAX_DEPTH == 32 and "JSON nesting (`KOPECK_JSON_MAX_DEPTH`) | 32 levels" in table
    assert (settings.KOPECK_DATE_MIN, settings.KOPECK_DATE_MAX) == ("1900-01-01", "2999-12-31")
    assert "| 1900-01-01 … 2999-12-31 |" in table
    assert settings.KOPECK_PAGE_SIZE_MAX == 500 and "| 1 … 500 (default 50)" in table
    assert settings.KOPECK_USAGE_BATCH_MAX == 1000 and "(`KOPECK_USAGE_BATCH_MAX`) | 1,000 items" in table
    assert (settings.KOPECK_USAGE_VALUE_DIGITS, settings.KOPECK_USAGE_VALUE_PLACES) == (12, 6)
    assert (settings.KOPECK_CLIENT_TAGS_MAX, settings.KOPECK_CLIENT_CONTACTS_MAX) == (50, 50)
    assert "`KOPECK_CLIENT_CONTACTS_MAX`) | 50, 50 |" in table
    assert (settings.KOPECK_AUTH_FAILURES_PER_ACCOUNT, settings.KOPECK_AUTH_FAILURES_PER_ADDRESS,
            settings.KOPECK_AUTH_FAILURE_WINDOW) == (10, 50, 900)
    assert "| 10 per account, 50 per address in 15 min |" in table
    assert (settings.KOPECK_TEMPLATE_MAX_SECONDS, settings.KOPECK_TEMPLATE_MAX_OUTPUT,
            settings.KOPECK_TEMPLATE_MAX_ITERATIONS, settings.KOPECK_TEMPLATE_MAX_INT_DIGITS,
            settings.KOPECK_TEMPLATE_MAX_SOURCE) == (5.0, 5 * 1024 * 1024, 1_000_000, 100, 200 * 1024)
    assert "| 5 s, 5 MiB, 1,000,000 iterations, 100 digits, 200 KiB of source |" in table


def test_no_doc_states_another_body_limit() -> None:
    usage = (DOCS / "usage.md").read_text()
    assert "2.5 MB" not in usage and "at most 2 MiB (`KOPECK_MAX_BODY_BYTES`" in usage
    for doc in DOCS.glob("*.md"):
        assert "10 MiB" not in doc.read_text(), doc.name
