"""The 1CClientBankExchange file (the 1C "Клиент банка" exchange standard, versions 1.02 and 1.03):
a streaming reader (of a seekable binary stream) that names the line of every error, and a writer of payment orders.

Plain Python (no Django): :func:`read` takes a binary stream and yields the header first, then
each balance section and each document as it is read, so memory stays flat in the file's size.
Facts: /work/shared/reference/russia.md §1 — ``Ключ=Значение`` lines; the first line
``1CClientBankExchange``, the last ``КонецФайла``; sections ``СекцияРасчСчет … КонецРасчСчет`` and
``СекцияДокумент=<вид> … КонецДокумента``; dates ``дд.мм.гггг``; amounts with a dot; the encoding
from ``Кодировка`` (``Windows`` = cp1251, ``DOS`` = cp866), but some banks write UTF-8 regardless,
so a BOM or valid UTF-8 wins. Unknown keys are kept and ignored; CRLF and LF both work."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

SUPPORTED_VERSIONS = ("1.02", "1.03")
MAGIC = "1CClientBankExchange"
_AMOUNT = re.compile(r"^\d{1,15}(?:\.\d{1,2})?$")
_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
_INN_PREFIX = re.compile(r"^ИНН\s*\d{10,12}\s+")
SNIFF = 1 << 16  # bytes looked at to tell UTF-8 from cp1251


class BankFileError(ValueError):
    """The file is not a well-formed 1CClientBankExchange file; ``line`` is 1-based (0: the whole file).

    The message is ``template % params`` in English; :meth:`translated` gives it in the active language
    (the templates are translated in the payments app's catalogue: this module does not import Django)."""

    def __init__(self, line: int, template: str, **params: object) -> None:
        message = template % params if params else template
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.message = message
        self.template = template
        self.params = params

    def translated(self, gettext: Callable[[str], str]) -> str:
        message = gettext(self.template) % self.params if self.params else gettext(self.template)
        return gettext("line %(line)d: %(problem)s") % {"line": self.line, "problem": message} if self.line \
            else message


@dataclass
class Header:
    version: str = ""
    encoding: str = ""  # the codec the file was read with: cp1251, cp866 or utf-8
    declared_encoding: str = ""  # the Кодировка key as written
    sender: str = ""
    receiver: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    accounts: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)


@dataclass
class Balance:
    line: int
    values: dict[str, str]


@dataclass
class BankDocument:
    """One ``СекцияДокумент``: ``line`` is where it starts; ``values`` every key as written (the
    last value of a repeated key); the typed fields below are checked."""

    line: int
    kind: str
    values: dict[str, str]
    number: str
    date: dt.date
    amount: Decimal
    payer_account: str
    payee_account: str
    payer_inn: str
    payer_kpp: str
    payer_name: str
    payer_bik: str
    payer_bank: str
    purpose: str
    date_credited: dt.date | None
    date_debited: dt.date | None


def _date(line: int, key: str, value: str) -> dt.date:
    m = _DATE.match(value.strip())
    if not m:
        raise BankFileError(line, "%(key)s: the date %(value)r is not дд.мм.гггг", key=key, value=value)
    try:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        raise BankFileError(line, "%(key)s: no such date %(value)r", key=key, value=value) from None


def detect_encoding(head: bytes) -> str:
    """The codec of a file from its first bytes: UTF-8 with a BOM, or text that is (almost all)
    valid UTF-8 with letters beyond ASCII — a stray bad byte is then reported on its line rather
    than read as cp1251; otherwise cp1251, or cp866 when the header says ``Кодировка=DOS``."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    text = head.decode("utf-8", errors="replace")
    wide = sum(1 for ch in text if ord(ch) >= 0x80 and ch != "\ufffd")
    bad = text.count("\ufffd")
    if wide and bad <= max(1, wide // 100):
        return "utf-8"
    if "Кодировка=DOS".encode("cp866") in head:
        return "cp866"
    return "cp1251"


class _Lines:
    """Numbered, decoded lines of the stream; a decoding error names its line."""

    def __init__(self, stream: BinaryIO, encoding: str) -> None:
        self.encoding = encoding
        self._raw = stream
        self._decoder = codecs.getincrementaldecoder(encoding)()
        self.number = 0

    def __iter__(self) -> Iterator[tuple[int, str]]:
        for raw in self._raw:
            self.number += 1
            try:
                text = self._decoder.decode(raw, final=False)
            except UnicodeDecodeError:
                raise BankFileError(self.number, "the text is not valid %(encoding)s", encoding=self.encoding) from None
            yield self.number, text.rstrip("\r\n").strip()


def _split(line: int, text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise BankFileError(line, "expected Ключ=Значение, found %(text)r", text=text[:60])
    return key.strip(), value.strip()


def read(stream: BinaryIO) -> Iterator[Header | Balance | BankDocument]:
    """Read a 1CClientBankExchange file: the :class:`Header` first (once its keys are read), then
    every :class:`Balance` and :class:`BankDocument` in file order. Raises :class:`BankFileError`
    naming the line at the first problem (nothing after it is yielded)."""
    encoding = detect_encoding(stream.read(SNIFF))
    stream.seek(0)
    lines = _Lines(stream, encoding)
    it = iter(lines)
    first = next(it, None)
    if first is None or first[1] != MAGIC:
        raise BankFileError(1, "the file does not start with %(magic)s (not a bank statement, or another encoding)",
                            magic=MAGIC)
    header = Header(encoding=encoding.removesuffix("-sig"))
    header_done = False
    section: dict[str, str] | None = None
    section_kind = ""
    section_line = 0
    in_balance = False
    ended = False
    for n, text in it:
        if not text:
            continue
        if ended:
            raise BankFileError(n, "text after КонецФайла")
        if text == "КонецФайла":
            if section is not None:
                raise BankFileError(n, "КонецФайла inside the section that starts on line %(start)d", start=section_line)
            ended = True
            continue
        if not header_done and (text == "СекцияРасчСчет" or text.startswith("СекцияДокумент")):
            _check_header(header, n)
            header_done = True
            yield header
        if text == "СекцияРасчСчет" or text.startswith("СекцияДокумент"):
            if section is not None:
                raise BankFileError(n, "a new section starts before the one of line %(start)d ends", start=section_line)
            section, section_line, in_balance = {}, n, text == "СекцияРасчСчет"
            section_kind = "" if in_balance else _split(n, text)[1]
            continue
        if text in ("КонецРасчСчет", "КонецДокумента"):
            if section is None or in_balance != (text == "КонецРасчСчет"):
                raise BankFileError(n, "%(text)s without its section", text=text)
            yield Balance(section_line, section) if in_balance else _document(section_line, section_kind, section)
            section = None
            continue
        key, value = _split(n, text)
        if section is not None:
            if key == "Сумма" and not _AMOUNT.match(value):
                raise BankFileError(n, "Сумма: %(value)r is not an amount (digits and a dot, e.g. 1234.56)", value=value)
            if key in ("Дата", "ДатаПоступило", "ДатаСписано") and value:
                _date(n, key, value)
            section[key] = value
            continue
        _header_key(header, n, key, value)
    if section is not None:
        raise BankFileError(lines.number, "the file ends inside the section that starts on line %(start)d (truncated?)",
                            start=section_line)
    if not ended:
        raise BankFileError(lines.number, "the file ends without КонецФайла (truncated?)")
    if not header_done:
        _check_header(header, lines.number)
        yield header


def _header_key(header: Header, n: int, key: str, value: str) -> None:
    header.keys[key] = value
    if key == "ВерсияФормата":
        header.version = value
    elif key == "Кодировка":
        header.declared_encoding = value
    elif key == "Отправитель":
        header.sender = value
    elif key == "Получатель":
        header.receiver = value
    elif key == "ДатаНачала":
        header.date_from = _date(n, key, value)
    elif key == "ДатаКонца":
        header.date_to = _date(n, key, value)
    elif key == "РасчСчет":
        header.accounts.append(value)


def _check_header(header: Header, n: int) -> None:
    if header.version not in SUPPORTED_VERSIONS:
        supported = {"one": ", ".join(SUPPORTED_VERSIONS[:-1]), "other": SUPPORTED_VERSIONS[-1]}
        if not header.version:
            raise BankFileError(n, "ВерсияФормата (missing) is not supported (%(one)s or %(other)s)", **supported)
        raise BankFileError(n, "ВерсияФормата %(version)s is not supported (%(one)s or %(other)s)",
                            version=header.version, **supported)
    if header.declared_encoding not in ("", "Windows", "DOS"):
        raise BankFileError(n, "Кодировка %(encoding)r is neither Windows nor DOS", encoding=header.declared_encoding)


def _document(line: int, kind: str, v: dict[str, str]) -> BankDocument:
    for key in ("Номер", "Дата", "Сумма"):
        if not v.get(key):
            raise BankFileError(line, "the document has no %(key)s", key=key)
    payer_account = v.get("ПлательщикСчет") or v.get("ПлательщикРасчСчет", "")
    payee_account = v.get("ПолучательСчет") or v.get("ПолучательРасчСчет", "")
    if not payer_account and not payee_account:
        raise BankFileError(line, "the document has neither ПлательщикСчет nor ПолучательСчет")
    purpose = v.get("НазначениеПлатежа") or " ".join(
        v[k] for k in (f"НазначениеПлатежа{i}" for i in range(1, 7)) if v.get(k))
    name = v.get("Плательщик1") or _INN_PREFIX.sub("", v.get("Плательщик", ""))
    return BankDocument(
        line=line, kind=kind, values=v, number=v["Номер"], date=_date(line, "Дата", v["Дата"]),
        amount=Decimal(v["Сумма"]), payer_account=payer_account, payee_account=payee_account,
        payer_inn=v.get("ПлательщикИНН", ""), payer_kpp=v.get("ПлательщикКПП", ""), payer_name=name,
        payer_bik=v.get("ПлательщикБИК", ""), payer_bank=v.get("ПлательщикБанк1", ""), purpose=" ".join(purpose.split()),
        date_credited=_date(line, "ДатаПоступило", v["ДатаПоступило"]) if v.get("ДатаПоступило") else None,
        date_debited=_date(line, "ДатаСписано", v["ДатаСписано"]) if v.get("ДатаСписано") else None)


# -- writing ----------------------------------------------------------------------------------------


def _fmt_date(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def write(*, accounts: Iterable[str], date_from: dt.date, date_to: dt.date, documents: Iterable[dict[str, str]],
          created: dt.datetime, sender: str = "Kopeck", version: str = "1.03") -> bytes:
    """A 1CClientBankExchange file (Windows-1251, CRLF) of ``documents`` — each a dict of keys and
    values; its ``СекцияДокумент`` kind is the key ``""`` (default "Платежное поручение")."""
    out: list[str] = [MAGIC, f"ВерсияФормата={version}", "Кодировка=Windows", f"Отправитель={sender}",
                      "Получатель=", f"ДатаСоздания={_fmt_date(created.date())}",
                      f"ВремяСоздания={created.strftime('%H:%M:%S')}",
                      f"ДатаНачала={_fmt_date(date_from)}", f"ДатаКонца={_fmt_date(date_to)}"]
    out += [f"РасчСчет={a}" for a in accounts]
    out.append("Документ=Платежное поручение")
    for doc in documents:
        out.append(f"СекцияДокумент={doc.get('', 'Платежное поручение')}")
        out += [f"{k}={' '.join(str(v).split())}" for k, v in doc.items() if k]
        out.append("КонецДокумента")
    out.append("КонецФайла")
    return ("\r\n".join(out) + "\r\n").encode("cp1251", errors="replace")
