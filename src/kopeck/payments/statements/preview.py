"""Reading a bank statement into its preview: every payment document of the file becomes a
:class:`~kopeck.payments.models.StatementLine` with its outcome — matched (to a client, with the rule
that matched), unidentified, duplicate or ignored — and the statement gets its totals. Nothing is
credited until the statement is applied (:mod:`.apply`).

Rules (docs/payments.md):

* only **incoming** documents to an account of the provider's legal entities are taken
  (``ПолучательСчет`` is ours, ``ПлательщикСчет`` is not); outgoing ones, transfers between our
  own accounts and documents of other accounts are listed as ignored;
* **dedupe key**: our account, date, number, payer's account, amount — a document already taken
  (from this file or an earlier statement) is a duplicate;
* **matching**: the payer's ИНН (with КПП when several clients share the ИНН) → a client; else the
  payer's account (with БИК when given); else an invoice number found in НазначениеПлатежа.

Memory stays flat in the file's size: documents are read one by one and handled in chunks."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows
from kopeck.common.errors import ValidationFailed
from kopeck.documents.models import Document, DocumentStatus, DocumentType, LegalEntity
from kopeck.ledger.amounts import from_minor
from kopeck.payments.matching import invoice_numbers_in
from kopeck.payments.models import BankStatement, LineOutcome, MatchRule, Payment, StatementLine
from kopeck.payments.statements.bankfile import Balance, BankDocument, BankFileError, Header, read

CHUNK = 2000
CURRENCY_OF_ACCOUNT = {"810": "RUB", "643": "RUB", "840": "USD", "978": "EUR", "398": "KZT", "933": "BYN",
                       "156": "CNY"}
Progress = Callable[[int], None]


class StatementRefused(ValidationFailed):
    """A malformed file: the message names the line; nothing was stored."""


def dedupe_key(our_account: str, doc: BankDocument) -> str:
    return f"{our_account}:{doc.date:%Y-%m-%d}:{doc.number}:{doc.payer_account}:{doc.amount:.2f}"


@dataclass
class _Clients:
    by_inn: dict[str, list[tuple[int, str, str]]]  # inn -> [(client id, kpp, currency)]
    by_account: dict[str, list[tuple[int, str, str]]]  # account -> [(client id, bik, currency)]

    @classmethod
    def load(cls) -> _Clients:
        by_inn: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        by_account: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        rows = Client.objects.values_list("pk", "fields__inn", "fields__kpp", "fields__settlement_account",
                                          "fields__bik", "currency")
        for pk, inn, kpp, account, bik, currency in rows.iterator(chunk_size=5000):
            if inn:
                by_inn[str(inn)].append((pk, str(kpp or ""), currency))
            if account:
                by_account[str(account)].append((pk, str(bik or ""), currency))
        return cls(dict(by_inn), dict(by_account))

    def match(self, ln: StatementLine) -> tuple[int | None, str, str]:
        """(client id, rule, the client's currency) by the payer's ИНН (+КПП), else account (+БИК)."""
        found = self.by_inn.get(ln.payer_inn) if ln.payer_inn else None
        if found:
            if len(found) == 1:
                return found[0][0], MatchRule.INN, found[0][2]
            with_kpp = [c for c in found if ln.payer_kpp and c[1] == ln.payer_kpp]
            if len(with_kpp) == 1:
                return with_kpp[0][0], MatchRule.INN_KPP, with_kpp[0][2]
        found = self.by_account.get(ln.payer_account) if ln.payer_account else None
        if found:
            same = [c for c in found if not c[1] or not ln.payer_bik or c[1] == ln.payer_bik]
            if len(same) == 1:
                return same[0][0], MatchRule.ACCOUNT, same[0][2]
        return None, "", ""


def _sha256(stream: BinaryIO) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


def bank_statement_preview(*, actor: Actor, stream: BinaryIO, file_name: str,
                           progress: Progress | None = None) -> BankStatement:
    """Read a 1CClientBankExchange file into a statement in preview. The same file again returns
    the statement made of it the first time. A malformed file is refused with a message naming its
    line (:class:`StatementRefused`, 400) and nothing is stored."""
    sha, size = _sha256(stream)
    existing = BankStatement.objects.filter(sha256=sha).first()
    if existing is not None:
        return existing
    own = {a for a in LegalEntity.objects.exclude(settlement_account="").values_list("settlement_account", flat=True)}
    if not own:
        raise ValidationFailed.field("file", _("No legal entity has a settlement account: add the provider's accounts "
                                               "first (Documents → Legal entities)."))
    try:
        with transaction.atomic():
            return _read(actor, stream, file_name[:255], sha, size, own, progress)
    except BankFileError as exc:
        problem = exc.translated(_)
        raise StatementRefused(f"{file_name}: {problem}", errors={"file": [problem]}) from exc


def _read(actor: Actor, stream: BinaryIO, file_name: str, sha: str, size: int, own: set[str],
          progress: Progress | None) -> BankStatement:
    items = read(stream)
    header = next(items)
    assert isinstance(header, Header)
    statement = BankStatement.objects.create(
        file_name=file_name, sha256=sha, size=size, version=header.version, encoding=header.encoding,
        sender=header.sender[:255], date_from=header.date_from, date_to=header.date_to, accounts=header.accounts,
        created_by=actor.label, created_at=clock.now())
    clients = _Clients.load()
    totals: dict[str, list[int]] = {o: [0, 0] for o in LineOutcome.values}
    balances: list[dict[str, Any]] = []
    done = 0
    for chunk in _chunks(items, balances):
        lines = _classify(statement, chunk, own, clients)
        insert_rows(StatementLine, _LINE_FIELDS, [[getattr(ln, f) for f in _LINE_FIELDS] for ln in lines], ids=False)
        for ln in lines:
            totals[ln.outcome][0] += 1
            totals[ln.outcome][1] += ln.amount_minor
        done += len(chunk)
        if progress:
            progress(done)
    statement.totals = {o: {"count": c, "amount": from_minor(a, "RUB").to_str()} for o, (c, a) in totals.items()}
    statement.balances = balances
    statement.save(update_fields=["totals", "balances"])
    audit_record(actor=actor, action="bank_statement.preview", object_type="bank_statement", object_id=statement.pk,
                 after={"file_name": file_name, "sha256": sha, "totals": statement.totals})
    return statement


_LINE_FIELDS = ("statement_id", "line", "kind", "number", "date", "amount_minor", "currency", "direction",
                "our_account", "payer_name", "payer_inn", "payer_kpp", "payer_account", "payer_bik", "payer_bank",
                "purpose", "outcome", "match_rule", "note", "dedupe_key", "client_id", "invoice_id")


def _chunks(items: Iterator[Header | Balance | BankDocument], balances: list[dict[str, Any]]) -> Iterator[
        list[BankDocument]]:
    chunk: list[BankDocument] = []
    for item in items:
        if isinstance(item, Balance):
            balances.append(_balance(item))
            continue
        assert isinstance(item, BankDocument)
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _balance(item: Balance) -> dict[str, Any]:
    """A balance section and whether opening + incoming − outgoing = closing."""
    v = item.values
    out: dict[str, Any] = {"line": item.line, **{k: v.get(k, "") for k in (
        "РасчСчет", "ДатаНачала", "ДатаКонца", "НачальныйОстаток", "ВсегоПоступило", "ВсегоСписано",
        "КонечныйОстаток")}}
    try:
        opening, incoming, outgoing, closing = (Decimal(v[k] or "0") for k in (
            "НачальныйОстаток", "ВсегоПоступило", "ВсегоСписано", "КонечныйОстаток"))
        out["adds_up"] = opening + incoming - outgoing == closing
    except (KeyError, ArithmeticError, ValueError):
        out["adds_up"] = None
    return out


def _classify(statement: BankStatement, docs: Sequence[BankDocument], own: set[str],
              clients: _Clients) -> list[StatementLine]:
    lines: list[StatementLine] = []
    for doc in docs:
        incoming = doc.payee_account in own
        outgoing = doc.payer_account in own
        direction = ("internal" if incoming and outgoing else "incoming" if incoming
                     else "outgoing" if outgoing else "foreign")
        our = doc.payee_account if incoming else doc.payer_account if outgoing else ""
        currency = CURRENCY_OF_ACCOUNT.get((our or doc.payee_account)[5:8], "")
        units = int(doc.amount * 100)
        ln = StatementLine(
            statement_id=statement.pk, line=doc.line, kind=doc.kind[:100], number=doc.number[:50],
            date=doc.date_credited or doc.date, amount_minor=units, currency=currency or "RUB", direction=direction,
            our_account=our, payer_name=doc.payer_name[:500], payer_inn=doc.payer_inn[:12],
            payer_kpp=doc.payer_kpp[:9], payer_account=doc.payer_account[:20], payer_bik=doc.payer_bik[:9],
            payer_bank=doc.payer_bank[:500], purpose=doc.purpose[:2000], dedupe_key=dedupe_key(our, doc)[:200],
            outcome=LineOutcome.IGNORED, match_rule="", note="")
        if direction != "incoming":
            ln.note = {"outgoing": "Списание с нашего счёта", "internal": "Перевод между нашими счетами",
                       "foreign": "Не на наш счёт"}[direction]
        elif not currency:
            ln.note = f"Валюта счёта {our[5:8]} не поддерживается"
        elif units <= 0:
            ln.note = "Нулевая сумма"
        else:
            ln.outcome = LineOutcome.UNIDENTIFIED
        lines.append(ln)
    _dedupe(statement, lines)
    _match(lines, clients)
    return lines


def _dedupe(statement: BankStatement, lines: list[StatementLine]) -> None:
    """A document already taken — earlier in this file, or by an applied statement — is a duplicate."""
    wanted = [ln for ln in lines if ln.outcome == LineOutcome.UNIDENTIFIED]
    keys = {ln.dedupe_key for ln in wanted}
    taken = dict(Payment.objects.filter(method="bank", external_id__in=keys).values_list("external_id", "pk"))
    earlier = dict(StatementLine.objects.filter(statement=statement, dedupe_key__in=keys)
                   .exclude(outcome__in=(LineOutcome.IGNORED, LineOutcome.DUPLICATE)).values_list("dedupe_key", "line"))
    for ln in wanted:
        if ln.dedupe_key in taken:
            ln.outcome = LineOutcome.DUPLICATE
            ln.note = f"Уже зачислен: платёж № {taken[ln.dedupe_key]}"
        elif ln.dedupe_key in earlier:
            ln.outcome, ln.note = LineOutcome.DUPLICATE, f"Повтор документа строки {earlier[ln.dedupe_key]}"
        else:
            earlier[ln.dedupe_key] = ln.line


def _match(lines: list[StatementLine], clients: _Clients) -> None:
    pending = [ln for ln in lines if ln.outcome == LineOutcome.UNIDENTIFIED]
    by_number: dict[str, list[StatementLine]] = defaultdict(list)
    for ln in pending:
        client_id, rule, currency = clients.match(ln)
        if client_id is not None and currency == ln.currency:
            ln.client_id, ln.match_rule, ln.outcome = client_id, rule, LineOutcome.MATCHED
            continue
        if client_id is not None:
            ln.note = f"Клиент № {client_id} ведёт счёт в {currency}, платёж в {ln.currency}"
            continue
        for number in invoice_numbers_in(ln.purpose):
            by_number[number].append(ln)
    if not by_number:
        return
    invoices: dict[str, list[tuple[int, int]]] = defaultdict(list)
    rows = Document.objects.filter(
            type=DocumentType.INVOICE, number__in=list(by_number), currency__in={ln.currency for ln in pending},
            status__in=(DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID, DocumentStatus.PAID)).values_list(
            "pk", "number", "client_id")
    for pk, doc_number, client_id in rows:
        if doc_number:
            invoices[doc_number].append((pk, client_id))
    for wanted, waiting in by_number.items():
        found = invoices.get(wanted, [])
        if len({c for _pk, c in found}) != 1:
            continue
        for ln in waiting:
            if ln.outcome == LineOutcome.UNIDENTIFIED:
                ln.client_id, ln.invoice_id = found[0][1], found[0][0]
                ln.match_rule, ln.outcome = MatchRule.INVOICE, LineOutcome.MATCHED
                ln.note = f"Счёт № {wanted}"
