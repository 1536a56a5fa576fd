"""Tests for kopeck.clients.fieldsets.validate_fields: every field kind, valid and invalid values.

The default field sets come from migration clients/0002_default_field_sets. Every message
follows the active language: the area's tests run in English (tests/clients/conftest.py); the
requisites' tests read the Russian messages (``in_russian``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from kopeck.clients.fieldsets import normalize_phone, validate_fields
from kopeck.clients.models import ClientFieldDefinition, ClientType, FieldKind

# Public requisites of ПАО Сбербанк, plus a settlement account built for the tests at its БИК
# (see tests/core/test_requisites.py for the hand computation of its check key).
SBER_INN = "7707083893"
SBER_KPP = "773601001"
SBER_OGRN = "1027700132195"
SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"
SETTLEMENT = "40702810938000012345"
SETTLEMENT_ONE_DIGIT_CHANGED = "40702810938000012346"
PERSON_INN = "500100732259"
OGRNIP = "304500000000010"

UNKNOWN = "Unknown field for this client type."
REQUIRED = "This field is required."
NEEDS_BIK = "An account number needs the bank's БИК in the same record."


@pytest.fixture
def in_russian() -> Iterator[None]:
    with translation.override("ru"):
        yield


def definitions(client_type: str) -> list[ClientFieldDefinition]:
    return list(ClientFieldDefinition.objects.filter(client_type=client_type))


def check(client_type: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    return validate_fields(client_type, values, definitions(client_type))


def legal(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"full_name": "ПАО Сбербанк", "inn": SBER_INN}
    values.update(overrides)
    return values


def make_definition(code: str, kind: str, *, client_type: str = ClientType.INDIVIDUAL, **extra: Any) -> ClientFieldDefinition:
    return ClientFieldDefinition.objects.create(
        client_type=client_type, code=code, label_ru=code, label_en=code, kind=kind, **extra
    )


# -- the default field sets --------------------------------------------------------------------


@pytest.mark.django_db
def test_default_field_sets_are_created_by_the_migration() -> None:
    def summary(client_type: str) -> list[tuple[str, str, bool]]:
        return [(d.code, d.kind, d.required) for d in definitions(client_type)]

    bank = [("bank_name", "text", False), ("bik", "bik", False),
            ("settlement_account", "settlement_account", False),
            ("correspondent_account", "correspondent_account", False)]
    assert summary(ClientType.LEGAL) == [
        ("full_name", "text", True), ("short_name", "text", False), ("inn", "inn", True), ("kpp", "kpp", False),
        ("ogrn", "ogrn", False), ("legal_address", "text", False), ("postal_address", "text", False),
        ("director", "text", False), *bank,
    ]
    assert summary(ClientType.SOLE_PROPRIETOR) == [
        ("full_name", "text", True), ("inn", "inn", True), ("ogrnip", "ogrnip", False), ("address", "text", False),
        *bank,
    ]
    assert summary(ClientType.INDIVIDUAL) == [
        ("full_name", "text", True), ("birth_date", "date", False), ("inn", "inn", False),
        ("address", "text", False), ("phone", "phone", False),
    ]


@pytest.mark.django_db
def test_complete_legal_record_is_valid_and_normalised() -> None:
    values = {
        "full_name": "  Публичное акционерное общество «Сбербанк России»  ",
        "short_name": "ПАО Сбербанк",
        "inn": f" {SBER_INN} ",
        "kpp": SBER_KPP,
        "ogrn": SBER_OGRN,
        "legal_address": "117312, г. Москва, ул. Вавилова, д. 19",
        "postal_address": "",
        "director": None,
        "bank_name": "ПАО Сбербанк",
        "bik": f"{SBER_BIK}\n",
        "settlement_account": f" {SETTLEMENT}",
        "correspondent_account": SBER_CORR,
    }
    cleaned, errors = check(ClientType.LEGAL, values)
    assert errors == {}
    assert cleaned == {
        "full_name": "Публичное акционерное общество «Сбербанк России»",
        "short_name": "ПАО Сбербанк",
        "inn": SBER_INN,
        "kpp": SBER_KPP,
        "ogrn": SBER_OGRN,
        "legal_address": "117312, г. Москва, ул. Вавилова, д. 19",
        "bank_name": "ПАО Сбербанк",
        "bik": SBER_BIK,
        "settlement_account": SETTLEMENT,
        "correspondent_account": SBER_CORR,
    }


@pytest.mark.django_db
def test_empty_optional_fields_are_dropped() -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(kpp="", ogrn="   ", director=None))
    assert errors == {}
    assert cleaned == {"full_name": "ПАО Сбербанк", "inn": SBER_INN}


# -- required and unknown fields ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("client_type", "missing"),
    [
        (ClientType.LEGAL, {"full_name": REQUIRED, "inn": REQUIRED}),
        (ClientType.SOLE_PROPRIETOR, {"full_name": REQUIRED, "inn": REQUIRED}),
        (ClientType.INDIVIDUAL, {"full_name": REQUIRED}),
    ],
)
def test_missing_required_fields_are_errors(client_type: str, missing: dict[str, str]) -> None:
    for values in ({}, dict.fromkeys(missing, ""), dict.fromkeys(missing, "   "), dict.fromkeys(missing)):
        cleaned, errors = check(client_type, values)
        assert cleaned == {}
        assert errors == {f"fields.{code}": [message] for code, message in missing.items()}


@pytest.mark.django_db
def test_unknown_field_codes_are_errors() -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(favourite_colour="green", ogrnip=OGRNIP))
    assert errors == {"fields.favourite_colour": [UNKNOWN], "fields.ogrnip": [UNKNOWN]}
    assert cleaned == {"full_name": "ПАО Сбербанк", "inn": SBER_INN}


@pytest.mark.django_db
def test_unknown_field_with_empty_value_is_still_an_error() -> None:
    _cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов Иван", "kpp": ""})
    assert errors == {"fields.kpp": [UNKNOWN]}


@pytest.mark.django_db
def test_inactive_definitions_are_ignored_and_their_codes_unknown() -> None:
    ClientFieldDefinition.objects.filter(client_type=ClientType.LEGAL, code="inn").update(is_active=False)
    cleaned, errors = check(ClientType.LEGAL, {"full_name": "ООО «Ромашка»"})
    assert (cleaned, errors) == ({"full_name": "ООО «Ромашка»"}, {})
    _cleaned, errors = check(ClientType.LEGAL, legal())
    assert errors == {"fields.inn": [UNKNOWN]}


# -- ИНН --------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_legal_inn_has_10_digits() -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(inn=SBER_INN))
    assert errors == {}
    assert cleaned["inn"] == SBER_INN
    _cleaned, errors = check(ClientType.LEGAL, legal(inn=PERSON_INN))
    assert errors == {"fields.inn": ["ИНН юридического лица должен содержать 10 цифр, получено 12"]}


@pytest.mark.django_db
@pytest.mark.parametrize("client_type", [ClientType.SOLE_PROPRIETOR, ClientType.INDIVIDUAL])
@pytest.mark.usefixtures("in_russian")
def test_person_inn_has_12_digits(client_type: str) -> None:
    cleaned, errors = check(client_type, {"full_name": "Иванов Иван Иванович", "inn": PERSON_INN})
    assert errors == {}
    assert cleaned == {"full_name": "Иванов Иван Иванович", "inn": PERSON_INN}
    _cleaned, errors = check(client_type, {"full_name": "Иванов Иван Иванович", "inn": SBER_INN})
    assert errors == {"fields.inn": ["ИНН физического лица / ИП должен содержать 12 цифр, получено 10"]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("client_type", "inn", "message"),
    [
        (ClientType.LEGAL, "7707083894",
         "ИНН юридического лица: неверное контрольное число (ожидалось 3, указано 4)"),
        (ClientType.SOLE_PROPRIETOR, "500100732258",
         "ИНН физического лица / ИП: неверное контрольное число (ожидалось 59, указано 58)"),
        (ClientType.LEGAL, "0000000000", "ИНН юридического лица не может состоять из одних нулей"),
        (ClientType.SOLE_PROPRIETOR, "000000000000", "ИНН физического лица / ИП не может состоять из одних нулей"),
        (ClientType.INDIVIDUAL, "000000000000", "ИНН физического лица / ИП не может состоять из одних нулей"),
        (ClientType.LEGAL, "77070838-3",
         "ИНН юридического лица должен состоять только из цифр; недопустимый символ '-' в позиции 9"),
        (ClientType.LEGAL, "770708389", "ИНН юридического лица должен содержать 10 цифр, получено 9"),
    ],
)
@pytest.mark.usefixtures("in_russian")
def test_invalid_inn(client_type: str, inn: str, message: str) -> None:
    cleaned, errors = check(client_type, {"full_name": "Кто-то", "inn": inn})
    assert errors == {"fields.inn": [message]}
    assert "inn" not in cleaned


@pytest.mark.django_db
def test_requisite_messages_follow_the_active_language() -> None:
    with translation.override("en"):
        _cleaned, errors = check(ClientType.LEGAL, legal(inn="0000000000"))
    assert errors == {"fields.inn": ["INN of a legal entity cannot consist of zeros only"]}
    with translation.override("ru"):
        _cleaned, errors = check(ClientType.LEGAL, legal(inn="0000000000"))
    assert errors == {"fields.inn": ["ИНН юридического лица не может состоять из одних нулей"]}


@pytest.mark.django_db
def test_inn_given_as_a_number_is_refused() -> None:
    _cleaned, errors = check(ClientType.LEGAL, legal(inn=7707083893))
    assert errors == {"fields.inn": ["Enter text."]}


# -- КПП, ОГРН, ОГРНИП, БИК -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kpp", [SBER_KPP, "7736AB001", "773643001"])
def test_valid_kpp(kpp: str) -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(kpp=kpp))
    assert errors == {}
    assert cleaned["kpp"] == kpp


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kpp", "message"),
    [
        ("77360100", "КПП должен содержать 9 символов, получено 8"),
        ("7736ab001", "КПП: позиции 1–4 и 7–9 — цифры, позиции 5–6 — цифры или заглавные латинские буквы A–Z"
                      "; получено '7736ab001'"),
        ("000000000", "КПП не может состоять из одних нулей"),
    ],
)
@pytest.mark.usefixtures("in_russian")
def test_invalid_kpp(kpp: str, message: str) -> None:
    _cleaned, errors = check(ClientType.LEGAL, legal(kpp=kpp))
    assert errors == {"fields.kpp": [message]}


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_ogrn() -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(ogrn=SBER_OGRN))
    assert errors == {}
    assert cleaned["ogrn"] == SBER_OGRN
    _cleaned, errors = check(ClientType.LEGAL, legal(ogrn="1027700132194"))
    assert errors == {"fields.ogrn": ["ОГРН: неверное контрольное число (ожидалось 5, указано 4)"]}
    _cleaned, errors = check(ClientType.LEGAL, legal(ogrn="102770013219"))
    assert errors == {"fields.ogrn": ["ОГРН должен содержать 13 цифр, получено 12"]}


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_ogrnip() -> None:
    person = {"full_name": "Иванов Иван Иванович", "inn": PERSON_INN}
    cleaned, errors = check(ClientType.SOLE_PROPRIETOR, {**person, "ogrnip": OGRNIP})
    assert errors == {}
    assert cleaned == {**person, "ogrnip": OGRNIP}
    _cleaned, errors = check(ClientType.SOLE_PROPRIETOR, {**person, "ogrnip": "304500000000011"})
    assert errors == {"fields.ogrnip": ["ОГРНИП: неверное контрольное число (ожидалось 0, указано 1)"]}
    _cleaned, errors = check(ClientType.SOLE_PROPRIETOR, {**person, "ogrnip": "504500000000010"})
    assert errors == {"fields.ogrnip": ["ОГРНИП должен начинаться с 3 или 4, а не с 5"]}


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_bik() -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(bik=SBER_BIK))
    assert errors == {}
    assert cleaned["bik"] == SBER_BIK
    _cleaned, errors = check(ClientType.LEGAL, legal(bik="144525225"))
    assert errors == {"fields.bik": ["БИК российского банка должен начинаться с 04, получено 14"]}
    _cleaned, errors = check(ClientType.LEGAL, legal(bik="04452522"))
    assert errors == {"fields.bik": ["БИК должен содержать 9 цифр, получено 8"]}


# -- bank accounts ------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("client_type", [ClientType.LEGAL, ClientType.SOLE_PROPRIETOR])
def test_settlement_account_with_its_bik_is_valid(client_type: str) -> None:
    base = legal() if client_type == ClientType.LEGAL else {"full_name": "Иванов И. И.", "inn": PERSON_INN}
    cleaned, errors = check(client_type, {**base, "bik": SBER_BIK, "settlement_account": SETTLEMENT})
    assert errors == {}
    assert cleaned == {**base, "bik": SBER_BIK, "settlement_account": SETTLEMENT}


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_settlement_account_with_one_digit_changed_is_invalid() -> None:
    cleaned, errors = check(
        ClientType.LEGAL, legal(bik=SBER_BIK, settlement_account=SETTLEMENT_ONE_DIGIT_CHANGED)
    )
    assert errors == {"fields.settlement_account": [
        f"Расчётный счёт {SETTLEMENT_ONE_DIGIT_CHANGED} не соответствует БИК {SBER_BIK}: неверный контрольный ключ"
    ]}
    assert cleaned["bik"] == SBER_BIK


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_settlement_account_checked_against_another_bank_is_invalid() -> None:
    _cleaned, errors = check(ClientType.LEGAL, legal(bik="044525593", settlement_account=SETTLEMENT))
    assert errors == {"fields.settlement_account": [
        f"Расчётный счёт {SETTLEMENT} не соответствует БИК 044525593: неверный контрольный ключ"
    ]}


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["settlement_account", "correspondent_account"])
def test_account_without_bik_in_the_record_is_an_error(code: str) -> None:
    account = SETTLEMENT if code == "settlement_account" else SBER_CORR
    for bik in ({}, {"bik": ""}):
        _cleaned, errors = check(ClientType.LEGAL, legal(**{code: account}, **bik))
        assert errors == {f"fields.{code}": [NEEDS_BIK]}


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_account_with_an_invalid_bik_reports_only_the_bik() -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(bik="144525225", settlement_account=SETTLEMENT))
    assert errors == {"fields.bik": ["БИК российского банка должен начинаться с 04, получено 14"]}
    assert "settlement_account" in cleaned  # left unchecked; the record is refused because of the БИК


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_settlement_account_format() -> None:
    _cleaned, errors = check(ClientType.LEGAL, legal(bik=SBER_BIK, settlement_account="4070281093800001234"))
    assert errors == {"fields.settlement_account": ["Расчётный счёт должен содержать 20 цифр, получено 19"]}
    _cleaned, errors = check(ClientType.LEGAL, legal(bik=SBER_BIK, settlement_account="00000000000000000000"))
    assert errors == {"fields.settlement_account": ["Расчётный счёт не может состоять из одних нулей"]}


@pytest.mark.django_db
@pytest.mark.usefixtures("in_russian")
def test_correspondent_account() -> None:
    cleaned, errors = check(ClientType.LEGAL, legal(bik=SBER_BIK, correspondent_account=SBER_CORR))
    assert errors == {}
    assert cleaned["correspondent_account"] == SBER_CORR
    _cleaned, errors = check(ClientType.LEGAL, legal(bik=SBER_BIK, correspondent_account="30101810400000000226"))
    assert errors == {"fields.correspondent_account": [
        f"Корреспондентский счёт 30101810400000000226 не соответствует БИК {SBER_BIK}: неверный контрольный ключ"
    ]}
    _cleaned, errors = check(ClientType.LEGAL, legal(bik=SBER_BIK, correspondent_account=SETTLEMENT))
    assert errors == {"fields.correspondent_account": ["Корреспондентский счёт должен начинаться с 301, получено 407"]}


# -- text, date, phone (default individual set) ---------------------------------------------------


@pytest.mark.django_db
def test_individual_record() -> None:
    values = {"full_name": " Иванов Иван Иванович ", "birth_date": "1990-05-17", "inn": PERSON_INN,
              "address": "г. Москва", "phone": "8 (495) 123-45-67"}
    cleaned, errors = check(ClientType.INDIVIDUAL, values)
    assert errors == {}
    assert cleaned == {"full_name": "Иванов Иван Иванович", "birth_date": "1990-05-17", "inn": PERSON_INN,
                       "address": "г. Москва", "phone": "+74951234567"}


@pytest.mark.django_db
def test_text_must_be_a_string() -> None:
    _cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": ["Иванов"]})
    assert errors == {"fields.full_name": ["Enter text."]}


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["17.05.1990", "1990-02-30", "вчера", "1990-05-17T10:00"])
def test_invalid_date(raw: str) -> None:
    _cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов", "birth_date": raw})
    assert errors == {"fields.birth_date": ["Enter a date as YYYY-MM-DD."]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+7 495 123-45-67", "+74951234567"),
        ("8 (495) 123-45-67", "+74951234567"),
        ("84951234567", "+74951234567"),
        ("74951234567", "+74951234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+7.495.123.45.67", "+74951234567"),
    ],
)
def test_valid_phone(raw: str, normalised: str) -> None:
    cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов", "phone": raw})
    assert errors == {}
    assert cleaned["phone"] == normalised
    assert normalize_phone(raw) == normalised


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["123-45-67", "+7 495 ABC-45-67", "+7 495 123-45-67 доб. 5", "1234567890123456"])
def test_invalid_phone(raw: str) -> None:
    _cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов", "phone": raw})
    assert errors == {"fields.phone": ["Enter a phone number of 10–15 digits, e.g. +7 495 123-45-67."]}


# -- kinds the default sets lack: choice, number, email ------------------------------------------


@pytest.mark.django_db
def test_choice_field() -> None:
    make_definition("segment", FieldKind.CHOICE, choices=["smb", "enterprise"], required=True)
    cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов", "segment": " enterprise "})
    assert errors == {}
    assert cleaned["segment"] == "enterprise"
    _cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов", "segment": "Enterprise"})
    assert errors == {"fields.segment": ["Choose one of: smb, enterprise."]}
    _cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов"})
    assert errors == {"fields.segment": [REQUIRED]}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("12", "12"), (12, "12"), ("12.50", "12.50"), (" -3.5 ", "-3.5"), (0, "0"), ("0", "0")],
)
def test_valid_number(raw: Any, normalised: str) -> None:
    make_definition("employees", FieldKind.NUMBER)
    cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов", "employees": raw})
    assert errors == {}
    assert cleaned["employees"] == normalised


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("двенадцать", "Enter a number."),
        ("12,5", "Enter a number."),
        (True, "Enter a number."),
        (12.5, "Enter a number as a string or an integer."),
        ("NaN", "Enter a number as a string or an integer."),
        ("Infinity", "Enter a number as a string or an integer."),
    ],
)
def test_invalid_number(raw: Any, message: str) -> None:
    make_definition("employees", FieldKind.NUMBER)
    _cleaned, errors = check(ClientType.INDIVIDUAL, {"full_name": "Иванов", "employees": raw})
    assert errors == {"fields.employees": [message]}


@pytest.mark.django_db
def test_email_field() -> None:
    make_definition("billing_email", FieldKind.EMAIL, client_type=ClientType.LEGAL)
    cleaned, errors = check(ClientType.LEGAL, legal(billing_email=" buh@example.ru "))
    assert errors == {}
    assert cleaned["billing_email"] == "buh@example.ru"
    for bad in ("buh@", "buh example.ru", "@example.ru"):
        _cleaned, errors = check(ClientType.LEGAL, legal(billing_email=bad))
        assert errors == {"fields.billing_email": ["Enter a valid e-mail address."]}


@pytest.mark.django_db
def test_all_errors_are_reported_together() -> None:
    values = {"inn": "0000000000", "kpp": "1", "ogrn": "1", "bik": "1", "settlement_account": SETTLEMENT, "x": "y"}
    cleaned, errors = check(ClientType.LEGAL, values)
    assert cleaned == {"settlement_account": SETTLEMENT}
    assert sorted(errors) == ["fields.bik", "fields.full_name", "fields.inn", "fields.kpp", "fields.ogrn", "fields.x"]
