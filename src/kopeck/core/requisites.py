"""Russian requisites (реквизиты): format and checksum validation.

Identifiers and their rules:

* ИНН of a legal entity — 10 digits. Weights (2,4,10,3,5,9,4,6,8) over digits 1–9;
  sum mod 11 mod 10 must equal digit 10.
* ИНН of an individual or ИП — 12 digits. Weights (7,2,4,10,3,5,9,4,6,8) over digits 1–10,
  mod 11 mod 10 = digit 11; weights (3,7,2,4,10,3,5,9,4,6,8) over digits 1–11, mod 11 mod 10
  = digit 12.
* КПП — 9 characters: 4 digits (tax office), a 2-character reason code (digits or uppercase
  latin A–Z), 3 digits. Format only; the first 4 characters are *not* compared with the ИНН.
* ОГРН — 13 digits, first digit not 0 (1 or 5 for legal entities); the first 12 digits as a
  number mod 11 mod 10 must equal digit 13.
* ОГРНИП — 15 digits starting with 3 or 4; the first 14 digits as a number mod 13, and the
  *last digit* of that remainder (10→0, 11→1, 12→2) must equal digit 15.
* БИК — 9 digits starting with ``04`` (digits 5–6: the ЦБ subdivision, 7–9: the bank).
* Расчётный счёт — 20 digits. Last 3 digits of the БИК + the account give 23 digits; weights
  repeat 7,1,3; the sum of the last digits of the products must be divisible by 10.
* Корр. счёт — 20 digits starting with ``301``. The same weights over ``"0"`` + БИК digits 5–6 +
  the account; the sum must be divisible by 10.

Common rules: surrounding whitespace is stripped; any other character that is not an ASCII digit
(where digits are expected) is a format error; numbers made only of zeros are refused even when
their checksum happens to work out. Every validator returns the normalized (stripped) value or
raises :class:`RequisiteError`.

This module is pure: standard library only.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "RequisiteError",
    "inn_check_digits",
    "validate_bik",
    "validate_correspondent_account",
    "validate_inn",
    "validate_kpp",
    "validate_ogrn",
    "validate_ogrnip",
    "validate_settlement_account",
]

_INN10_WEIGHTS: Final[tuple[int, ...]] = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_1: Final[tuple[int, ...]] = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_2: Final[tuple[int, ...]] = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_ACCOUNT_WEIGHTS: Final[tuple[int, ...]] = (7, 1, 3)

# ASCII only: str.isdigit() would also accept "²" or Arabic-Indic digits.
_DIGITS_RE: Final = re.compile(r"[0-9]+")
# 4 digits + 2 characters (digit or uppercase latin letter) + 3 digits.
_KPP_RE: Final = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")

_INN_KINDS: Final[dict[str, tuple[int, ...]]] = {"legal": (10,), "individual": (12,)}


class RequisiteError(ValueError):
    """A requisite (ИНН, КПП, ОГРН, …) failed validation.

    Attributes:
        code: machine-readable reason, e.g. ``"inn_length"``, ``"inn_checksum"``, ``"all_zeros"``,
            ``"format"``, ``"bik_prefix"``.
        field: which requisite was being validated (``"inn"``, ``"kpp"``, ``"ogrn"``, ``"ogrnip"``,
            ``"bik"``, ``"settlement_account"``, ``"correspondent_account"``).
        message_ru: human-readable message in Russian.
        message_en: human-readable message in English; also what ``str()`` returns.
    """

    def __init__(self, code: str, message_ru: str, message_en: str, *, field: str = "") -> None:
        super().__init__(message_en)
        self.code = code
        self.field = field
        self.message_ru = message_ru
        self.message_en = message_en

    def __str__(self) -> str:
        return self.message_en

    def __repr__(self) -> str:
        return f"RequisiteError(code={self.code!r}, message_en={self.message_en!r})"


# --------------------------------------------------------------------------------------------
# helpers


def _normalize(value: object, field: str, name_ru: str, name_en: str) -> str:
    """Strip surrounding whitespace; refuse anything that is not a string."""
    if not isinstance(value, str):
        raise RequisiteError(
            "format",
            f"{name_ru}: ожидается строка, получено {type(value).__name__}",
            f"{name_en}: expected a string, got {type(value).__name__}",
            field=field,
        )
    return value.strip()


def _require_digits(value: str, field: str, name_ru: str, name_en: str) -> None:
    """Raise ``format`` unless ``value`` is non-empty and made only of ASCII digits."""
    if not value:
        raise RequisiteError(
            f"{field}_length",
            f"{name_ru}: значение не указано",
            f"{name_en}: value is empty",
            field=field,
        )
    if _DIGITS_RE.fullmatch(value) is None:
        position, char = next((i, c) for i, c in enumerate(value, start=1) if c not in "0123456789")
        raise RequisiteError(
            "format",
            f"{name_ru} должен состоять только из цифр; недопустимый символ {char!r} в позиции {position}",
            f"{name_en} must contain digits only; invalid character {char!r} at position {position}",
            field=field,
        )


def _require_length(value: str, lengths: tuple[int, ...], field: str, name_ru: str, name_en: str) -> None:
    """Raise ``<field>_length`` unless ``len(value)`` is one of ``lengths``."""
    if len(value) in lengths:
        return
    expected_ru = " или ".join(str(n) for n in lengths)
    expected_en = " or ".join(str(n) for n in lengths)
    raise RequisiteError(
        f"{field}_length",
        f"{name_ru} должен содержать {expected_ru} цифр, получено {len(value)}",
        f"{name_en} must have {expected_en} digits, got {len(value)}",
        field=field,
    )


def _require_not_all_zeros(value: str, field: str, name_ru: str, name_en: str) -> None:
    """Raise ``all_zeros`` if ``value`` consists only of zeros."""
    if value.strip("0") == "":
        raise RequisiteError(
            "all_zeros",
            f"{name_ru} не может состоять из одних нулей",
            f"{name_en} cannot consist of zeros only",
            field=field,
        )


def _digits(field: str, name_ru: str, name_en: str, value: object, lengths: tuple[int, ...]) -> str:
    """Normalize and run the common checks: digits only, length, not all zeros."""
    text = _normalize(value, field, name_ru, name_en)
    _require_digits(text, field, name_ru, name_en)
    _require_length(text, lengths, field, name_ru, name_en)
    _require_not_all_zeros(text, field, name_ru, name_en)
    return text


def _checksum_error(field: str, name_ru: str, name_en: str, expected: str, got: str) -> RequisiteError:
    return RequisiteError(
        f"{field}_checksum",
        f"{name_ru}: неверное контрольное число (ожидалось {expected}, указано {got})",
        f"{name_en}: invalid check digit (expected {expected}, got {got})",
        field=field,
    )


def _weighted_mod11(digits: str, weights: tuple[int, ...]) -> str:
    """Σ digit × weight, mod 11, mod 10, as one digit."""
    return str(sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10)


def _account_sum(digits: str) -> int:
    """Sum of the last digits of digit × weight, weights 7,1,3 repeating (ЦБ account key)."""
    return sum(int(d) * _ACCOUNT_WEIGHTS[i % 3] % 10 for i, d in enumerate(digits))


# --------------------------------------------------------------------------------------------
# ИНН


def inn_check_digits(first_digits: str) -> str:
    """Return the ИНН check digit(s) for the given leading digits.

    Given 9 digits (legal entity) returns the 1 check digit; given 10 digits (individual / ИП)
    returns the 2 check digits. ``prefix + inn_check_digits(prefix)`` is a checksum-valid ИНН
    (an all-zero prefix still gives an all-zero ИНН, which :func:`validate_inn` refuses).

    Raises:
        RequisiteError: ``format`` for non-digits, ``inn_length`` for any other length.
    """
    prefix = _normalize(first_digits, "inn", "ИНН", "INN")
    _require_digits(prefix, "inn", "Начало ИНН", "INN prefix")
    if len(prefix) == 9:
        return _weighted_mod11(prefix, _INN10_WEIGHTS)
    if len(prefix) == 10:
        first = _weighted_mod11(prefix, _INN12_WEIGHTS_1)
        second = _weighted_mod11(prefix + first, _INN12_WEIGHTS_2)
        return first + second
    raise RequisiteError(
        "inn_length",
        f"Для расчёта контрольных цифр ИНН нужно 9 или 10 цифр, получено {len(prefix)}",
        f"INN check digits need 9 or 10 leading digits, got {len(prefix)}",
        field="inn",
    )


def validate_inn(value: str, *, kind: str | None = None) -> str:
    """Validate an ИНН and return it normalized (surrounding whitespace stripped).

    Args:
        value: the ИНН.
        kind: ``"legal"`` — only a 10-digit legal-entity ИНН is accepted; ``"individual"`` —
            only a 12-digit ИНН of an individual or ИП; ``None`` — either.

    Raises:
        RequisiteError: ``format``, ``inn_length``, ``all_zeros`` or ``inn_checksum``.
        ValueError: ``kind`` is not one of the values above (a programming error).
    """
    if kind is None:
        lengths: tuple[int, ...] = (10, 12)
    elif kind in _INN_KINDS:
        lengths = _INN_KINDS[kind]
    else:
        raise ValueError(f"unknown INN kind {kind!r}; use 'legal', 'individual' or None")
    name_ru = {None: "ИНН", "legal": "ИНН юридического лица", "individual": "ИНН физического лица / ИП"}[kind]
    name_en = {None: "INN", "legal": "INN of a legal entity", "individual": "INN of an individual"}[kind]
    inn = _digits("inn", name_ru, name_en, value, lengths)
    expected = inn_check_digits(inn[:-1] if len(inn) == 10 else inn[:-2])
    got = inn[-len(expected) :]
    if expected != got:
        raise _checksum_error("inn", name_ru, name_en, expected, got)
    return inn


# --------------------------------------------------------------------------------------------
# КПП


def validate_kpp(value: str) -> str:
    """Validate a КПП and return it normalized (surrounding whitespace stripped).

    Format only: 4 digits, then 2 characters that are digits or uppercase latin letters A–Z,
    then 3 digits. There is no checksum, and the first 4 digits are deliberately not compared
    with the organisation's ИНН (they legitimately differ for branches and major taxpayers).

    Raises:
        RequisiteError: ``kpp_length``, ``format`` or ``all_zeros``.
    """
    kpp = _normalize(value, "kpp", "КПП", "KPP")
    if len(kpp) != 9:
        raise RequisiteError(
            "kpp_length",
            f"КПП должен содержать 9 символов, получено {len(kpp)}",
            f"KPP must have 9 characters, got {len(kpp)}",
            field="kpp",
        )
    if _KPP_RE.fullmatch(kpp) is None:
        raise RequisiteError(
            "format",
            "КПП: позиции 1–4 и 7–9 — цифры, позиции 5–6 — цифры или заглавные латинские буквы A–Z"
            f"; получено {kpp!r}",
            "KPP: positions 1–4 and 7–9 must be digits, positions 5–6 digits or uppercase latin "
            f"letters A–Z; got {kpp!r}",
            field="kpp",
        )
    _require_not_all_zeros(kpp, "kpp", "КПП", "KPP")
    return kpp


# --------------------------------------------------------------------------------------------
# ОГРН / ОГРНИП


def validate_ogrn(value: str) -> str:
    """Validate a 13-digit ОГРН and return it normalized (surrounding whitespace stripped).

    The first digit must not be 0 (it is 1 or 5 for legal entities); the first 12 digits, read
    as a number, mod 11 mod 10 must equal digit 13.

    Raises:
        RequisiteError: ``format``, ``ogrn_length``, ``all_zeros``, ``ogrn_prefix`` or
            ``ogrn_checksum``.
    """
    ogrn = _digits("ogrn", "ОГРН", "OGRN", value, (13,))
    if ogrn[0] == "0":
        raise RequisiteError(
            "ogrn_prefix",
            "ОГРН не может начинаться с 0",
            "OGRN cannot start with 0",
            field="ogrn",
        )
    expected = str(int(ogrn[:12]) % 11 % 10)
    if expected != ogrn[12]:
        raise _checksum_error("ogrn", "ОГРН", "OGRN", expected, ogrn[12])
    return ogrn


def validate_ogrnip(value: str) -> str:
    """Validate a 15-digit ОГРНИП and return it normalized (surrounding whitespace stripped).

    The first digit must be 3 or 4. The first 14 digits, read as a number, are taken mod 13 and
    the *last digit* of the remainder (10→0, 11→1, 12→2) must equal digit 15.

    Raises:
        RequisiteError: ``format``, ``ogrnip_length``, ``all_zeros``, ``ogrnip_prefix`` or
            ``ogrnip_checksum``.
    """
    ogrnip = _digits("ogrnip", "ОГРНИП", "OGRNIP", value, (15,))
    if ogrnip[0] not in "34":
        raise RequisiteError(
            "ogrnip_prefix",
            f"ОГРНИП должен начинаться с 3 или 4, а не с {ogrnip[0]}",
            f"OGRNIP must start with 3 or 4, not {ogrnip[0]}",
            field="ogrnip",
        )
    expected = str(int(ogrnip[:14]) % 13 % 10)
    if expected != ogrnip[14]:
        raise _checksum_error("ogrnip", "ОГРНИП", "OGRNIP", expected, ogrnip[14])
    return ogrnip


# --------------------------------------------------------------------------------------------
# БИК and bank accounts


def validate_bik(value: str) -> str:
    """Validate a БИК and return it normalized (surrounding whitespace stripped).

    9 digits starting with ``04`` (Russia); digits 5–6 are the ЦБ subdivision, digits 7–9 the
    bank's number. There is no checksum.

    Raises:
        RequisiteError: ``format``, ``bik_length``, ``all_zeros`` or ``bik_prefix``.
    """
    bik = _digits("bik", "БИК", "BIK", value, (9,))
    if not bik.startswith("04"):
        raise RequisiteError(
            "bik_prefix",
            f"БИК российского банка должен начинаться с 04, получено {bik[:2]}",
            f"a Russian BIK must start with 04, got {bik[:2]}",
            field="bik",
        )
    return bik


def validate_settlement_account(account: str, bik: str) -> str:
    """Validate a расчётный счёт against its bank's БИК; return the normalized account.

    The БИК is validated first (see :func:`validate_bik`). Then the last 3 digits of the БИК
    followed by the 20-digit account give 23 digits; with weights 7,1,3 repeating, the sum of
    the last digits of each digit × weight must be divisible by 10.

    Raises:
        RequisiteError: any :func:`validate_bik` error, or ``format``,
            ``settlement_account_length``, ``all_zeros``, ``settlement_account_checksum``.
    """
    bank = validate_bik(bik)
    name_ru, name_en = "Расчётный счёт", "Settlement account"
    acc = _digits("settlement_account", name_ru, name_en, account, (20,))
    if _account_sum(bank[-3:] + acc) % 10 != 0:
        raise RequisiteError(
            "settlement_account_checksum",
            f"Расчётный счёт {acc} не соответствует БИК {bank}: неверный контрольный ключ",
            f"settlement account {acc} does not match BIK {bank}: invalid check key",
            field="settlement_account",
        )
    return acc


def validate_correspondent_account(account: str, bik: str) -> str:
    """Validate a корреспондентский счёт against its bank's БИК; return the normalized account.

    The БИК is validated first (see :func:`validate_bik`). The account must be 20 digits
    starting with ``301``. Then ``"0"`` + БИК digits 5–6 followed by the account give 23 digits;
    with weights 7,1,3 repeating, the sum of the last digits of each digit × weight must be
    divisible by 10.

    Raises:
        RequisiteError: any :func:`validate_bik` error, or ``format``,
            ``correspondent_account_length``, ``all_zeros``, ``correspondent_account_prefix``,
            ``correspondent_account_checksum``.
    """
    bank = validate_bik(bik)
    name_ru, name_en = "Корреспондентский счёт", "Correspondent account"
    acc = _digits("correspondent_account", name_ru, name_en, account, (20,))
    if not acc.startswith("301"):
        raise RequisiteError(
            "correspondent_account_prefix",
            f"Корреспондентский счёт должен начинаться с 301, получено {acc[:3]}",
            f"a correspondent account must start with 301, got {acc[:3]}",
            field="correspondent_account",
        )
    if _account_sum("0" + bank[4:6] + acc) % 10 != 0:
        raise RequisiteError(
            "correspondent_account_checksum",
            f"Корреспондентский счёт {acc} не соответствует БИК {bank}: неверный контрольный ключ",
            f"correspondent account {acc} does not match BIK {bank}: invalid check key",
            field="correspondent_account",
        )
    return acc
