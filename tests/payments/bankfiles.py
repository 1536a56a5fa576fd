"""Statement files made like real ones: what a bank's client program exports (Windows-1251, CRLF,
the header keys of the standard, a balance section, documents with the bank's extra keys)."""

from __future__ import annotations

from dataclasses import dataclass

OUR_ACCOUNT = "40702810938000000001"  # the legal entity's р/с in tests.documents.conftest.ENTITY
OUR_BIK = "044525225"


@dataclass
class Order:
    number: str
    date: str  # дд.мм.гггг
    amount: str
    payer_account: str
    payer_inn: str = ""
    payer_kpp: str = ""
    payer_name: str = "ООО «Плательщик»"
    payee_account: str = OUR_ACCOUNT
    purpose: str = "Оплата услуг"
    payer_bik: str = "044525974"

    def lines(self) -> list[str]:
        incoming = self.payee_account == OUR_ACCOUNT
        return [
            "СекцияДокумент=Платежное поручение",
            f"Номер={self.number}",
            f"Дата={self.date}",
            f"Сумма={self.amount}",
            "СуммаПрописью=сумма прописью",
            f"КвитанцияДата={self.date}",
            f"ПлательщикСчет={self.payer_account}",
            f"ДатаСписано={'' if incoming else self.date}",
            f"Плательщик=ИНН {self.payer_inn} {self.payer_name}" if self.payer_inn else f"Плательщик={self.payer_name}",
            f"ПлательщикИНН={self.payer_inn}",
            f"ПлательщикКПП={self.payer_kpp}",
            f"Плательщик1={self.payer_name}",
            f"ПлательщикРасчСчет={self.payer_account}",
            "ПлательщикБанк1=АО «ТИНЬКОФФ БАНК»",
            "ПлательщикБанк2=г. Москва",
            f"ПлательщикБИК={self.payer_bik}",
            "ПлательщикКорсчет=30101810145250000974",
            f"ПолучательСчет={self.payee_account}",
            f"ДатаПоступило={self.date if incoming else ''}",
            "Получатель=ИНН 7707083893 ООО «Копейка»",
            "ПолучательИНН=7707083893",
            "ПолучательКПП=770701001",
            "Получатель1=ООО «Копейка»",
            f"ПолучательРасчСчет={self.payee_account}",
            "ПолучательБанк1=ПАО СБЕРБАНК",
            "ПолучательБанк2=г. Москва",
            f"ПолучательБИК={OUR_BIK}",
            "ПолучательКорсчет=30101810400000000225",
            "ВидПлатежа=",
            "ВидОплаты=01",
            "Код=0",
            "СтатусСоставителя=",
            "ПоказательКБК=",
            "ОКАТО=",
            "Очередность=5",
            f"НазначениеПлатежа={self.purpose}",
            "КонецДокумента",
        ]


def statement(orders: list[Order], *, version: str = "1.03", encoding: str = "cp1251", newline: str = "\r\n",
              date_from: str = "01.12.2026", date_to: str = "03.12.2026", end: bool = True,
              balance: tuple[str, str, str, str] = ("100000.00", "0.00", "0.00", "100000.00")) -> bytes:
    opening, incoming, outgoing, closing = balance
    lines = [
        "1CClientBankExchange",
        f"ВерсияФормата={version}",
        f"Кодировка={'DOS' if encoding == 'cp866' else 'Windows'}",
        "Отправитель=Сбербанк Бизнес Онлайн",
        "Получатель=1С:Бухгалтерия предприятия",
        "ДатаСоздания=04.12.2026",
        "ВремяСоздания=09:15:02",
        f"ДатаНачала={date_from}",
        f"ДатаКонца={date_to}",
        f"РасчСчет={OUR_ACCOUNT}",
        "Документ=Платежное поручение",
        "СекцияРасчСчет",
        f"ДатаНачала={date_from}",
        f"ДатаКонца={date_to}",
        f"РасчСчет={OUR_ACCOUNT}",
        f"НачальныйОстаток={opening}",
        f"ВсегоПоступило={incoming}",
        f"ВсегоСписано={outgoing}",
        f"КонечныйОстаток={closing}",
        "КонецРасчСчет",
    ]
    for order in orders:
        lines += order.lines()
    if end:
        lines.append("КонецФайла")
    text = newline.join(lines) + newline
    if encoding == "cp866":  # DOS has no «»
        text = text.replace("«", '"').replace("»", '"')
    return text.encode(encoding)
