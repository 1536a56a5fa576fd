"""``kopeck bank``: bank statements and payment orders (docs/payments.md).

    kopeck bank import FILE [--apply] [--no-progress]
    kopeck bank refunds --from 2026-12-01 --to 2026-12-31 [--out FILE]
    kopeck bank export-1c --from 2026-11-01 --to 2026-11-30 --out period.zip [--format-version 1.17]
    kopeck bank advance-invoices [--payment ID]

``import`` reads a 1CClientBankExchange file (1.02 or 1.03, Windows-1251, DOS or UTF-8) and prints its
preview — matched, unidentified, duplicate and ignored documents with totals; with ``--apply`` it
applies it (once: a file applied before adds nothing). A malformed file: the message names its line,
nothing is stored, exit status 1. ``refunds`` writes the period's refunds as outgoing payment orders
(1CClientBankExchange, Windows-1251) for the bank's client program. ``export-1c`` writes the period's
clients, services, sales documents, счета-фактуры and payments received as an EnterpriseData message
(a zip with its manifest) for 1С:Бухгалтерия предприятия 8. ``advance-invoices`` runs the advance job
now (the advance счета-фактуры of the last five days' payments), or with ``--payment`` issues one
payment's advance счёт-фактура by hand."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy
from tqdm import tqdm

from kopeck.cli.command import KopeckCommand, SubcommandParser
from kopeck.common.actor import Actor
from kopeck.common.errors import KopeckError
from kopeck.payments.models import BankStatement, LineOutcome, StatementLine
from kopeck.payments.statements.apply import bank_statement_apply
from kopeck.payments.statements.preview import bank_statement_preview

TITLES = {LineOutcome.MATCHED: pgettext_lazy("statement totals", "matched"),
          LineOutcome.UNIDENTIFIED: pgettext_lazy("statement totals", "unidentified"),
          LineOutcome.DUPLICATE: pgettext_lazy("statement totals", "duplicate"),
          LineOutcome.IGNORED: pgettext_lazy("statement totals", "ignored")}


class _Err:
    """The command's stderr for tqdm: written as is (no line ending added)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        self.stream.write(text, ending="")

    def flush(self) -> None:
        self.stream.flush()


class Command(KopeckCommand):
    help = gettext_lazy("Import bank statements (1CClientBankExchange); export refunds as payment orders.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=SubcommandParser)
        imp = sub.add_parser("import", help=_("Preview a statement file; --apply to credit it."))
        imp.add_argument("file", help=_("The 1CClientBankExchange file (kl_to_1c.txt)."))
        imp.add_argument("--apply", action="store_true", help=_("Apply the statement after the preview."))
        imp.add_argument("--no-progress", action="store_true", help=_("Do not show the progress bar."))
        refunds = sub.add_parser("refunds", help=_("Write the refunds of a period as outgoing payment orders."))
        refunds.add_argument("--from", dest="date_from", required=True, help=_("First day, YYYY-MM-DD."))
        refunds.add_argument("--to", dest="date_to", required=True, help=_("Last day, YYYY-MM-DD."))
        refunds.add_argument("--out", help=_("The file to write (default: standard output)."))
        export = sub.add_parser("export-1c", help=_("Write a period as an EnterpriseData message for 1C (zip)."))
        export.add_argument("--from", dest="date_from", required=True, help=_("First day, YYYY-MM-DD."))
        export.add_argument("--to", dest="date_to", required=True, help=_("Last day, YYYY-MM-DD."))
        export.add_argument("--out", required=True, help=_("The zip file to write."))
        export.add_argument("--format-version", default="1.17",
                            help=_("The EnterpriseData version the 1C base accepts (default 1.17)."))

        advances = sub.add_parser("advance-invoices", help=_("Issue the advance invoices-factura that are due."))
        advances.add_argument("--payment", type=int, help=_("Only this payment (one the daily job did not take)."))

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli")
        if options["action"] == "advance-invoices":
            self._advances(actor, options)
            return
        if options["action"] == "refunds":
            self._refunds(actor, options)
            return
        if options["action"] == "export-1c":
            self._export(options)
            return
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("%(path)s: no such file") % {"path": path})
        quiet = options["no_progress"]
        size = path.stat().st_size
        try:
            with path.open("rb") as stream, tqdm(total=size, unit="B", unit_scale=True,
                                                 desc=pgettext("progress", "preview"), file=_Err(self.stderr), disable=quiet) as bar:

                def read_so_far(_documents: int) -> None:
                    bar.update(max(0, stream.tell() - bar.n))

                statement = bank_statement_preview(actor=actor, stream=stream, file_name=path.name,
                                                   progress=read_so_far)
                bar.update(max(0, size - bar.n))
            self._print(statement)
            if options["apply"]:
                total = StatementLine.objects.filter(
                    statement=statement, outcome__in=(LineOutcome.MATCHED, LineOutcome.UNIDENTIFIED)).count()
                with tqdm(total=total, unit=pgettext("progress unit", " orders"), desc=pgettext("progress", "apply"),
                          file=_Err(self.stderr),
                          disable=quiet or statement.status == "applied") as applying:

                    def applied_so_far(done: int) -> None:
                        applying.update(done - applying.n)

                    statement = bank_statement_apply(actor=actor, statement=statement, progress=applied_so_far)
                self.stdout.write(_("Applied statement %(id)s (%(at)s UTC).") % {
                    "id": statement.pk, "at": f"{statement.applied_at:%Y-%m-%d %H:%M}"})
        except KopeckError as exc:
            raise CommandError("; ".join(m for ms in exc.errors.values() for m in ms) or exc.detail) from None

    def _print(self, st: BankStatement) -> None:
        self.stdout.write(_("Statement %(id)s: %(file)s, version %(version)s, %(encoding)s, %(start)s — %(end)s, "
                            "%(status)s") % {"id": st.pk, "file": st.file_name, "version": st.version,
                                             "encoding": st.encoding, "start": st.date_from or "?",
                                             "end": st.date_to or "?", "status": st.get_status_display().lower()})
        for outcome, title in TITLES.items():
            row = st.totals.get(outcome, {"count": 0, "amount": "0.00"})
            self.stdout.write(f"  {title!s:<13} {row['count']:>8}  {row['amount']:>18}")
        for balance in st.balances:
            if balance.get("adds_up") is False:
                self.stdout.write("  " + _("warning: the balance section of line %(line)s does not add up")
                                  % {"line": balance["line"]})
        if st.status != "applied":
            self.stdout.write(_("Preview only: run again with --apply to credit it."))

    def _advances(self, actor: Actor, options: dict[str, Any]) -> None:
        from kopeck.ledger.amounts import from_minor
        from kopeck.payments.models import Payment
        from kopeck.payments.services import advance_invoices_issue, payment_advance_invoice_issue

        try:
            if options.get("payment"):
                pay = Payment.objects.filter(pk=options["payment"]).first()
                if pay is None:
                    raise CommandError(_("Payment %(id)s does not exist.") % {"id": options["payment"]})
                made = [payment_advance_invoice_issue(actor=actor, payment=pay)]
            else:
                made = advance_invoices_issue(actor=actor)
        except KopeckError as exc:
            raise CommandError("; ".join(m for ms in exc.errors.values() for m in ms) or exc.detail) from None
        for adv in made:
            doc = adv.document
            self.stdout.write(
                _("Payment %(id)s: advance %(amount)s %(currency)s, invoice-factura %(number)s") % {
                    "id": adv.payment_id, "amount": from_minor(adv.amount_minor, adv.currency).to_str(),
                    "currency": adv.currency, "number": doc.number}
                if doc is not None else _("Payment %(id)s: no advance") % {"id": adv.payment_id})
        issued = sum(1 for a in made if a.document_id)
        self.stdout.write(ngettext("Issued %(count)d advance invoice-factura.",
                                   "Issued %(count)d advance invoices-factura.", issued) % {"count": issued})

    def _export(self, options: dict[str, Any]) -> None:
        from kopeck.payments.exchange.enterprisedata import enterprisedata_export

        try:
            start, end = dt.date.fromisoformat(options["date_from"]), dt.date.fromisoformat(options["date_to"])
        except ValueError:
            raise CommandError(_("--from/--to: give dates YYYY-MM-DD.")) from None
        try:
            data = enterprisedata_export(date_from=start, date_to=end, version=options["format_version"])
        except KopeckError as exc:
            raise CommandError("; ".join(m for ms in exc.errors.values() for m in ms) or exc.detail) from None
        Path(options["out"]).write_bytes(data)
        self.stdout.write(ngettext("Wrote %(file)s (%(count)d byte).", "Wrote %(file)s (%(count)d bytes).", len(data))
                          % {"file": options["out"], "count": len(data)})

    def _refunds(self, actor: Actor, options: dict[str, Any]) -> None:
        from kopeck.payments.statements.orders import refund_orders_file

        try:
            start, end = dt.date.fromisoformat(options["date_from"]), dt.date.fromisoformat(options["date_to"])
        except ValueError:
            raise CommandError(_("--from/--to: give dates YYYY-MM-DD.")) from None
        try:
            data = refund_orders_file(date_from=start, date_to=end)
        except KopeckError as exc:
            raise CommandError(exc.detail) from None
        if options.get("out"):
            Path(options["out"]).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
