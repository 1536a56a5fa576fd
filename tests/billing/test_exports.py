"""The XLSX export of a billing run: the workbook's cells, streaming, and the API, admin and CLI."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.test import Client as WebClient
from django.utils import translation
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from kopeck.billing import services
from kopeck.billing.exports import XLSX_CONTENT_TYPE, amount_format, run_export_xlsx, write_xlsx
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunMode, RunStatus
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from tests.billing.conftest import TODAY, Book

pytestmark = pytest.mark.django_db
URL = "/api/v1/billing-runs/"
ADMIN = "/admin/billing/billingrun/"
D = dt.datetime

HEADERS_EN = ("client id", "client", "subscription id", "status", "kind", "component", "period start",
              "period end (exclusive)", "amount", "currency", "VAT rate", "explanation (Russian)",
              "explanation (English)", "error")
HEADERS_RU = ("ID клиента", "клиент", "ID подписки", "статус", "вид", "компонент", "начало периода",
              "конец периода (не включая)", "сумма", "валюта", "ставка НДС", "пояснение (рус.)",
              "пояснение (англ.)", "ошибка")


def lite_run(actor: Actor) -> BillingRun:
    """A sandbox run over the two ``lite`` subscriptions: six charge lines, 1970.00 RUB."""
    run = services.billing_run_create(actor=actor, billing_date=TODAY, mode=RunMode.SANDBOX,
                                      scope={"plans": ["lite"]})
    return services.billing_run_execute(actor=actor, run=run)


def workbook(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def values(wb: Workbook, sheet: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in wb[sheet].iter_rows(values_only=True)]


def lines_en(book: Book) -> list[tuple[Any, ...]]:
    """The exact rows of :func:`lite_run`'s "Lines" sheet (English explanations are checked apart)."""
    c1, c2 = book.clients[0], book.clients[1]
    s2, s4 = book.subs[1].pk, book.subs[3].pk
    return [
        (c2.pk, c2.name, s2, "ok", "charge", "base", D(2026, 10, 10), D(2026, 11, 10), 490, "RUB", "22"),
        (c2.pk, c2.name, s2, "ok", "charge", "seats", D(2026, 10, 10), D(2026, 11, 10), 100, "RUB", "22"),
        (c2.pk, c2.name, s2, "ok", "charge", "base", D(2026, 11, 10), D(2026, 12, 10), 490, "RUB", "22"),
        (c2.pk, c2.name, s2, "ok", "charge", "seats", D(2026, 11, 10), D(2026, 12, 10), 100, "RUB", "22"),
        (c1.pk, c1.name, s4, "ok", "charge", "base", D(2026, 11, 1), D(2026, 12, 1), 490, "RUB", "22"),
        (c1.pk, c1.name, s4, "ok", "charge", "seats", D(2026, 11, 1), D(2026, 12, 1), 300, "RUB", "22"),
    ]


def test_lines_sheet_has_exact_cells(book: Book, actor: Actor) -> None:
    run = lite_run(actor)
    with translation.override("en"):
        wb = workbook(run_export_xlsx(run))
    assert wb.sheetnames == ["Lines", "Summary"]
    rows = values(wb, "Lines")
    assert rows[0] == HEADERS_EN
    assert [r[:11] for r in rows[1:]] == lines_en(book)
    assert rows[1][11:] == (
        "LITE, Абонентская плата, 2026-10-10 – 2026-11-09: Абонентская плата: модель standard, количество 1, "
        "итого 490.00 RUB",
        "LITE, Абонентская плата, 2026-10-10 – 2026-11-09: Абонентская плата: standard model, quantity 1, "
        "total 490.00 RUB",
        None)
    assert rows[6][11:] == (
        "LITE, Места, 2026-11-01 – 2026-11-30: Места: модель standard, количество 3, итого 300.00 RUB",
        "LITE, Места, 2026-11-01 – 2026-11-30: Места: standard model, quantity 3, total 300.00 RUB",
        None)
    sheet = wb["Lines"]
    assert [sheet.cell(2, c).number_format for c in (7, 8, 9)] == ["yyyy-mm-dd", "yyyy-mm-dd", "#,##0.00"]
    assert [sheet.cell(2, c).data_type for c in (1, 2, 9)] == ["n", "s", "n"]
    assert sheet.freeze_panes == "A2"


def test_amounts_are_written_exactly(tmp_path: Path) -> None:
    """The stored decimal text is what the sheet holds (openpyxl alone would write 99999999999.99001)."""
    run = BillingRun(pk=1, billing_date=TODAY, mode=RunMode.SANDBOX, status=RunStatus.COMPLETED, summary={})
    rows = [{"amount": amount, "currency": "RUB"} for amount in ("1234567.89", "0.30", "2.675", "99999999999.99")]
    target = tmp_path / "run.xlsx"
    with target.open("wb") as fh:
        write_xlsx(run, fh, rows)
    with zipfile.ZipFile(target) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    for text in ("1234567.89", "0.30", "2.675", "99999999999.99"):
        assert f"<v>{text}</v>" in xml, text
    assert [r[8] for r in values(load_workbook(target), "Lines")[1:]] == [1234567.89, 0.3, 2.675, 99999999999.99]


def test_headers_follow_the_active_language(book: Book, actor: Actor) -> None:
    run = lite_run(actor)
    with translation.override("ru"):
        wb = workbook(run_export_xlsx(run))
    assert values(wb, "Lines")[0] == HEADERS_RU
    assert values(wb, "Summary")[:4] == [("запуск биллинга", run.pk, None), ("дата биллинга", D(2026, 11, 25), None),
                                         ("режим", "Песочница (только расчёт)", None), ("статус", "Завершён", None)]


def test_summary_sheet(book: Book, actor: Actor) -> None:
    run = lite_run(actor)
    with translation.override("en"):
        wb = workbook(run_export_xlsx(run))
    assert values(wb, "Summary") == [
        ("billing run", run.pk, None),
        ("billing date", D(2026, 11, 25), None),
        ("mode", "Sandbox (compute only)", None),
        ("status", "Completed", None),
        ("clients", 2, None),
        ("subscriptions", 2, None),
        ("charges", 6, None),
        ("credits", 0, None),
        ("errors", 0, None),
        (None, None, None),
        ("totals by currency", None, None),
        ("currency", "amount", None),
        ("RUB", 1970, None),
        (None, None, None),
        ("charges by VAT rate", None, None),
        ("currency", "VAT rate", "amount"),
        ("RUB", "22", 1970),
    ]
    sheet = wb["Summary"]
    assert sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet["B13"].number_format == sheet["C17"].number_format == "#,##0.00"


def test_error_rows_and_text_that_looks_like_a_formula(book: Book, actor: Actor) -> None:
    client = book.clients[1]
    Client.objects.filter(pk=client.pk).update(name="=HYPERLINK(\"http://x\")")
    run = lite_run(actor)
    RunItem.objects.filter(run=run, subscription=book.subs[1]).update(
        status=ItemStatus.ERROR, items=[], error="=1+2\x07 broken")
    with translation.override("en"):
        wb = workbook(run_export_xlsx(run))
    rows = values(wb, "Lines")
    assert rows[1] == (client.pk, "=HYPERLINK(\"http://x\")", book.subs[1].pk, "error", None, None, None, None,
                       None, "RUB", "22", None, None, "=1+2 broken")
    assert len(rows) == 4  # the header, the error, the two lines of the other subscription
    assert wb["Lines"]["B2"].data_type == wb["Lines"]["N2"].data_type == "s"


def test_amount_format_follows_the_currency() -> None:
    assert [amount_format(c) for c in ("RUB", "JPY", "KWD", "XXX?")] == ["#,##0.00", "#,##0", "#,##0.000",
                                                                        "#,##0.00"]


def test_memory_stays_flat_with_many_lines(tmp_path: Path) -> None:
    run = BillingRun(pk=1, billing_date=TODAY, mode=RunMode.SANDBOX, status=RunStatus.COMPLETED, summary={})

    def rows(n: int) -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield {"client_id": i, "client": f"Клиент {i}", "subscription_id": i, "status": "ok", "kind": "charge",
                   "component": "base", "period_start": "2026-10-10", "period_end": "2026-11-10",
                   "amount": "490.00", "currency": "RUB", "vat_rate": "22", "explanation_ru": "плата " * 10,
                   "explanation_en": "fee " * 10, "error": ""}

    def peak(n: int) -> int:
        tracemalloc.start()
        try:
            with (tmp_path / f"{n}.xlsx").open("wb") as fh:
                write_xlsx(run, fh, rows(n))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(500), peak(5000)
    assert large < small * 1.5, (small, large)
    assert len(values(load_workbook(tmp_path / "5000.xlsx", read_only=True), "Lines")) == 5001


def test_api_returns_the_workbook(book: Book, actor: Actor, api: APIClient) -> None:
    run = lite_run(actor)
    reply = api.get(f"{URL}{run.pk}/export.xlsx", HTTP_ACCEPT_LANGUAGE="en")
    assert reply.status_code == 200
    assert reply["Content-Type"] == XLSX_CONTENT_TYPE
    assert reply["Content-Disposition"] == f'attachment; filename="billing-run-{run.pk}.xlsx"'
    wb = workbook(b"".join(reply.streaming_content))  # type: ignore[attr-defined]
    rows = values(wb, "Lines")
    assert rows[0] == HEADERS_EN and [r[:11] for r in rows[1:]] == lines_en(book)
    ru = api.get(f"{URL}{run.pk}/export.xlsx", HTTP_ACCEPT_LANGUAGE="ru", HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    assert ru.status_code == 200
    assert values(workbook(b"".join(ru.streaming_content)), "Lines")[0] == HEADERS_RU  # type: ignore[attr-defined]


def test_api_refuses_unknown_runs_and_other_areas(book: Book, actor: Actor,
                                                  api: APIClient, api_as: Callable[..., APIClient]) -> None:
    missing = api.get(f"{URL}999999/export.xlsx", HTTP_ACCEPT=XLSX_CONTENT_TYPE)
    assert missing.status_code == 404 and missing["Content-Type"] == "application/problem+json"
    run = lite_run(actor)
    assert api_as("subscriptions:write").get(f"{URL}{run.pk}/export.xlsx").status_code == 403
    assert api_as("billing:read").get(f"{URL}{run.pk}/export.xlsx").status_code == 200


def test_schema_documents_the_export() -> None:
    schema = WebClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    get = schema["paths"]["/api/v1/billing-runs/{id}/export.xlsx"]["get"]
    assert list(get["responses"]["200"]["content"]) == [XLSX_CONTENT_TYPE]
    assert get["responses"]["200"]["content"][XLSX_CONTENT_TYPE]["schema"] == {"type": "string", "format": "binary"}


def test_admin_run_page_offers_both_exports(book: Book, actor: Actor, client: WebClient) -> None:
    client.force_login(Operator.objects.create_superuser("root", "root@example.ru", "a-long-password-1"))
    run = lite_run(actor)
    page = client.get(f"{ADMIN}{run.pk}/run/").content.decode()
    assert f"{ADMIN}{run.pk}/export.csv" in page and f"{ADMIN}{run.pk}/export.xlsx" in page
    assert "Выгрузить XLSX" in page
    assert "Export XLSX" in client.get(f"/en{ADMIN}{run.pk}/run/").content.decode()
    reply = client.get(f"/en{ADMIN}{run.pk}/export.xlsx")
    assert reply.status_code == 200 and reply["Content-Type"] == XLSX_CONTENT_TYPE
    assert values(workbook(b"".join(reply.streaming_content)), "Lines")[0] == HEADERS_EN  # type: ignore[attr-defined]
    reply = client.get(f"{ADMIN}{run.pk}/export.xlsx")
    assert values(workbook(b"".join(reply.streaming_content)), "Lines")[0] == HEADERS_RU  # type: ignore[attr-defined]


def test_admin_export_needs_staff(book: Book, actor: Actor, client: WebClient) -> None:
    run = lite_run(actor)
    reply = client.get(f"{ADMIN}{run.pk}/export.xlsx")
    assert reply.status_code == 302 and "/login/" in reply["Location"]
    reader = Operator.objects.create(username="reader", role=Role.READ_ONLY, is_staff=True)
    client.force_login(reader)
    assert client.get(f"{ADMIN}{run.pk}/export.xlsx").status_code == 200


@pytest.mark.usefixtures("installation_language")
def test_cli_writes_the_workbook(book: Book, actor: Actor, tmp_path: Path) -> None:
    run = lite_run(actor)
    target = tmp_path / "run.xlsx"
    out = io.StringIO()
    call_command("billing", "export", str(run.pk), "--format", "xlsx", "--output", str(target), stdout=out)
    assert out.getvalue() == ""
    wb = load_workbook(target)
    rows = values(wb, "Lines")
    assert rows[0] == HEADERS_RU  # the default language (KOPECK_LANGUAGE, ru)
    assert [r[:11] for r in rows[1:]] == lines_en(book)
    assert values(wb, "Summary")[12] == ("RUB", 1970, None)
    csv_target = tmp_path / "run.csv"
    call_command("billing", "export", str(run.pk), "-o", str(csv_target))  # csv stays the default
    assert csv_target.read_text().startswith("client_id,client,subscription_id")


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "xlsx"], "--format xlsx needs --output FILE"),
    (["--format", "pdf", "-o", "out.pdf"], "invalid choice: 'pdf'"),
])
def test_cli_refuses_bad_formats(book: Book, actor: Actor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 args: list[str], message: str) -> None:
    run = lite_run(actor)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with pytest.raises(CommandError, match=message):
        call_command("billing", "export", str(run.pk), *args, stdout=out, stderr=io.StringIO())
    assert out.getvalue() == "" and list(tmp_path.iterdir()) == []
    assert BillingRun.objects.count() == 1


def test_cli_unknown_format_exits_non_zero(book: Book, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for argv, code, message in ((["--format", "pdf", "-o", "x.pdf"], 2, "invalid choice: 'pdf'"),
                                (["--format", "xlsx"], 1, "--format xlsx needs --output FILE")):
        utility = ManagementUtility(["kopeck", "billing", "export", "1", *argv])
        with pytest.raises(SystemExit) as exit_:
            utility.execute()
        assert exit_.value.code == code
        captured = capsys.readouterr()
        assert message in captured.err and captured.out == ""
    assert list(tmp_path.iterdir()) == []
