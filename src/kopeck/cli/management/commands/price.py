"""``kopeck price [FILE|-]``: the price calculator on the command line.

Reads the price-preview JSON (docs/pricing.md) from FILE or standard input, prints the result as
JSON (default) or as a readable table with the explanations (``--format text --lang ru|en``).
Bad input exits non-zero with the offending field named. Nothing is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from kopeck.catalog.preview import PreviewDefaults, price_preview, settings_defaults
from kopeck.cli.command import KopeckCommand, os_reason
from kopeck.common.errors import ValidationFailed

FALLBACK = PreviewDefaults(vat_rate="22", prices_include_vat=True, time_zone="Europe/Moscow")

WORDS = {
    "en": {"component": "Component", "plan": "Plan", "quantity": "quantity", "billable": "billable",
           "line": "Line", "units": "Units", "price": "Price", "amount": "Amount",
           "total": "Total", "net": "Net", "vat": "VAT", "gross": "Gross", "included": "included",
           "on_top": "on top", "period": "period", "used": "used"},
    "ru": {"component": "Компонент", "plan": "Тариф", "quantity": "количество", "billable": "к оплате",
           "line": "Строка", "units": "Ед.", "price": "Цена", "amount": "Сумма",
           "total": "Итого", "net": "Без НДС", "vat": "НДС", "gross": "Всего с НДС", "included": "в том числе",
           "on_top": "сверху", "period": "период", "used": "использовано"},
}


class Command(KopeckCommand):
    help = gettext_lazy("Price a component or a plan for a quantity, events, meter readings or transactions "
                        "(the JSON of POST /api/v1/price-preview/, see docs/pricing.md) and explain every "
                        "amount. Writes nothing.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default="-", help=_("A JSON file, or - (default) for standard input."))
        parser.add_argument("--format", choices=["json", "text"], default="json", dest="fmt",
                            help=_("json (default) or text: a table with the explanations."))
        parser.add_argument("--lang", choices=["ru", "en"], default=None,
                            help=_("Language of the text format (default: the installation's, KOPECK_LANGUAGE)."))

    def handle(self, *args: Any, **options: Any) -> None:
        data = self._read(options["file"])
        try:
            result = price_preview(data, self._defaults)
        except ValidationFailed as exc:
            lines = [f"{field}: {msg}" if field else msg for field, msgs in exc.errors.items() for msg in msgs]
            raise CommandError(_("invalid input: %(errors)s") % {"errors": "; ".join(lines) or exc.detail}) from None
        if options["fmt"] == "json":
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            lang = options["lang"] or ("en" if (get_language() or "").startswith("en") else "ru")
            self.stdout.write(render_text(result, lang))

    def _read(self, name: str) -> Any:
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(_("cannot read %(file)s: %(reason)s") % {"file": name, "reason": os_reason(exc)}) \
                from None
        source = _("standard input") if name == "-" else name
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(_("%(source)s is not valid JSON: %(reason)s at line %(line)d column %(column)d") % {
                "source": source, "reason": exc.msg, "line": exc.lineno, "column": exc.colno}) from None

    def _defaults(self) -> PreviewDefaults:
        """The billing settings; without a usable database, Kopeck's defaults (said on stderr)."""
        try:
            return settings_defaults()
        except DatabaseError:
            self.stderr.write(_(
                "warning: billing settings are unavailable (database not migrated?); using VAT %(rate)s%%, "
                "prices include VAT, time zone %(zone)s. Give vat_rate and prices_include_vat in the input to "
                "be explicit.") % {"rate": FALLBACK.vat_rate, "zone": FALLBACK.time_zone})
            return FALLBACK


def _table(rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
    return out


def _lines_block(lines: list[dict[str, Any]], lang: str, w: dict[str, str], indent: str) -> list[str]:
    if not lines:
        return []
    rows: list[tuple[str, ...]] = [(w["line"], w["units"], w["price"], w["amount"])]
    rows += [(ln["label"], ln["units"], ln["unit_price"], ln["amount"]) for ln in lines]
    table = _table(rows, {1, 2, 3})
    out = [indent + table[0], indent + "-" * len(table[0])]
    for row, ln in zip(table[1:], lines, strict=True):
        out.append(indent + row)
        out.append(indent + "    " + ln["explanation"][lang])
        out.append(indent + "    = " + ln["explanation"]["formula"])
    return out


def _charge_block(charge: dict[str, Any], lang: str, w: dict[str, str], indent: str) -> list[str]:
    out = [indent + charge["explanation"][lang]]
    if charge.get("usage_explanation"):
        out.append(indent + charge["usage_explanation"][lang])
        out.append(indent + "  = " + charge["usage_explanation"]["formula"])
    return out + _lines_block(charge["lines"], lang, w, indent)


def render_text(result: dict[str, Any], lang: str = "en") -> str:
    """The preview as a readable table with the explanations in ``lang``."""
    w = WORDS[lang]
    cur = result["currency"]
    echo = result["input_echo"]
    out: list[str] = []
    if result["kind"] == "component":
        out.append(f"{w['component']} {result['component']} ({result['model']}), {cur}")
        out += _charge_block(result, lang, w, "")
    else:
        head = f"{w['plan']} {result['plan']}, {cur}"
        if echo.get("period"):
            head += f", {w['period']} {echo['period']['start']} – {echo['period']['end']}"
        if echo.get("used"):
            head += f", {w['used']} {echo['used']['start']} – {echo['used']['end']}"
        out.append(head)
        for comp in result["components"]:
            out.append("")
            out.append(f"* {comp['component']} ({comp['kind']}, {comp['charge']['model']}): {comp['amount']} {cur}")
            out += _charge_block(comp["charge"], lang, w, "  ")
            if comp["explanation"] != comp["charge"]["explanation"]:
                out.append("  " + comp["explanation"][lang])
                out.append("  = " + comp["explanation"]["formula"])
        for extra in result["extras"]:
            out.append("")
            out.append(f"* {extra['kind']}: {extra['amount']} {cur}")
            out.append("  " + extra["explanation"][lang])
    vat = result["vat"]
    out.append("")
    mode = w["included"] if vat["inclusive"] else w["on_top"]
    label = vat["label"][lang]
    rows = [(f"{w['total']}:", f"{result['amount']} {cur}"), (f"{w['net']}:", f"{vat['net']} {cur}"),
            (f"{label} ({mode}):" if vat["rate"] != "exempt" else f"{label}:", f"{vat['vat']} {cur}"),
            (f"{w['gross']}:", f"{vat['gross']} {cur}")]
    out += _table([tuple(r) for r in rows], {1})
    if len(vat["lines"]) > 1 or vat["rate"] != "exempt":
        for line in vat["lines"]:
            out.append(f"  {line['ref']}: {line['explanation'][lang]}")
    return "\n".join(out)

